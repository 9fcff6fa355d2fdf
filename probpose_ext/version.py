__version__ = '0.1.0'

#: Versions of the OpenMMLab stack this package is written and tested against
#: (``constraints.txt`` pins the exact resolve). ``probpose_ext`` refuses to
#: import with a clear message outside these ranges.
SUPPORTED = {
    'mmengine': ('0.10.0', '0.11.0'),
    'mmpose': ('1.3.0', '1.4.0'),
}
