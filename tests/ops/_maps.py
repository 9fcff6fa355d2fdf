"""Random probability maps shared by the map-op tests."""
import torch

F64 = torch.float64


def random_prob(n, k, h, w, seed=0, sparse=True, dtype=F64):
    """Random probability maps (N, K, H, W), each summing to 1; ``sparse``
    zeroes about half the pixels (never a whole map)."""
    gen = torch.Generator().manual_seed(seed)
    p = torch.rand(n, k, h, w, generator=gen, dtype=F64)
    if sparse:
        p = torch.where(p > 0.5, p - 0.5, torch.zeros_like(p))
        p[..., 0, 0] += 1e-3  # never an all-zero map
    return (p / p.sum(dim=(-2, -1), keepdim=True)).to(dtype)
