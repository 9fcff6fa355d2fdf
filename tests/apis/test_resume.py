"""``tools/train.py --resume``: a fine-tuning config's ``load_from`` is kept
when the work directory has nothing to resume, and replaced when it has."""
from mmengine.config import Config

from probpose_ext.apis.cli import apply_resume


def _cfg(work_dir):
    return Config(dict(work_dir=str(work_dir), load_from='init.pth',
                       resume=False))


def test_auto_without_checkpoint_keeps_load_from(tmp_path):
    for work_dir in (tmp_path, tmp_path / 'not-there'):
        cfg = apply_resume(_cfg(work_dir), 'auto')
        assert cfg.resume is False and cfg.load_from == 'init.pth'


def test_auto_with_checkpoint_resumes_from_it(tmp_path):
    ckpt = tmp_path / 'epoch_2.pth'
    ckpt.write_bytes(b'')
    (tmp_path / 'last_checkpoint').write_text(str(ckpt))
    cfg = apply_resume(_cfg(tmp_path), 'auto')
    assert cfg.resume is True and cfg.load_from is None


def test_explicit_path_and_no_flag(tmp_path):
    cfg = apply_resume(_cfg(tmp_path), 'other.pth')
    assert cfg.resume is True and cfg.load_from == 'other.pth'
    cfg = apply_resume(_cfg(tmp_path), None)
    assert cfg.resume is False and cfg.load_from == 'init.pth'
