from .figures import (cut_first_grid, draw_on_canvas, group_by_image,
                      image_grid, map_instances)
from .probpose_visualizer import (ProbPoseLocalVisualizer,
                                  overlay_probability_maps)

__all__ = [
    'ProbPoseLocalVisualizer', 'overlay_probability_maps', 'draw_on_canvas',
    'group_by_image', 'image_grid', 'map_instances', 'cut_first_grid'
]
