"""block_diagonal_covariance and marginal_mahalanobis_sq against explicit
loops and numpy's inverse."""
import numpy as np
import pytest
import torch

from probpose_ext.ops.covariance import (block_diagonal_covariance,
                                         covariance_blocks,
                                         marginal_mahalanobis_sq)


def _blocks(rng, shape):
    a = rng.normal(size=shape + (2, 2))
    return a @ np.swapaxes(a, -1, -2) + 0.1 * np.eye(2)


@pytest.mark.parametrize('lead', [(), (3, ), (2, 3)])
def test_block_diagonal_places_each_block_and_zeros(lead):
    rng = np.random.default_rng(0)
    blocks = _blocks(rng, lead + (4, ))
    full = block_diagonal_covariance(blocks)
    assert full.shape == lead + (8, 8)
    expected = np.zeros(lead + (8, 8))
    for j in range(4):
        expected[..., 2 * j:2 * j + 2, 2 * j:2 * j + 2] = blocks[..., j, :, :]
    np.testing.assert_array_equal(full, expected)
    # covariance_blocks reads them back
    np.testing.assert_array_equal(covariance_blocks(full), blocks)
    # torch in, torch out
    got = block_diagonal_covariance(torch.from_numpy(blocks))
    assert isinstance(got, torch.Tensor)
    np.testing.assert_array_equal(got.numpy(), expected)


def test_marginal_mahalanobis_equals_the_explicit_inverse():
    rng = np.random.default_rng(1)
    cov = _blocks(rng, (5, 4))
    r = rng.normal(size=(5, 4, 2))
    expected = np.array([[r[n, k] @ np.linalg.inv(cov[n, k]) @ r[n, k]
                          for k in range(4)] for n in range(5)])
    np.testing.assert_allclose(marginal_mahalanobis_sq(r, cov), expected,
                               rtol=1e-10)
    got = marginal_mahalanobis_sq(torch.from_numpy(r), torch.from_numpy(cov))
    np.testing.assert_allclose(got.numpy(), expected, rtol=1e-10)


def test_marginal_mahalanobis_of_a_singular_covariance_is_not_finite():
    cov = np.zeros((1, 1, 2, 2))
    assert not np.isfinite(marginal_mahalanobis_sq(np.ones((1, 1, 2)), cov))
    with pytest.raises(ValueError, match='residual must have shape'):
        marginal_mahalanobis_sq(np.ones((1, 2, 2)), cov)
