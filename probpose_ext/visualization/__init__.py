from .probpose_visualizer import (ProbPoseLocalVisualizer,
                                  overlay_probability_maps)

__all__ = ['ProbPoseLocalVisualizer', 'overlay_probability_maps']
