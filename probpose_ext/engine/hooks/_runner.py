"""What hooks read from the runner, through its public attributes."""


def resumes(runner) -> bool:
    """Whether ``runner`` resumes training from a checkpoint (``--resume``)
    rather than only loading weights (``load_from``).

    Reads the public ``runner.cfg.resume``, which ``Runner.from_cfg`` (and
    so MMPose's and this project's ``tools/train.py``) takes the runner's
    ``resume`` argument from, instead of MMEngine's private
    ``Runner._resume``. A runner built directly with ``Runner(...,
    resume=True)`` must also get ``cfg=dict(resume=True)`` to be seen as
    resuming.

    Args:
        runner: An MMEngine runner (or anything with a ``cfg`` mapping).

    Returns:
        bool: ``runner.cfg.resume``, False without a config.
    """
    cfg = getattr(runner, 'cfg', None)
    return bool(cfg.get('resume', False)) if cfg is not None else False
