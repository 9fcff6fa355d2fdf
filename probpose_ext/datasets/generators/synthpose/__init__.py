"""SynthPose: an embedded generator of a small synthetic 2D human-pose data
set in exact COCO keypoint format.

No real data set can be downloaded in some environments, so this package
renders simple but structured images of people (the kinematic 3D skeleton of
:mod:`~probpose_ext.datasets.generators.kinematics` with the 17 COCO
keypoints, projected with weak perspective and drawn with
painter's order) over cluttered backgrounds, with occluders, several people
per image and border truncation, and writes them in the layout expected by
MMPose's ``CocoDataset``::

    OUT_DIR/train/000000000001.jpg ...
    OUT_DIR/val/000000000001.jpg ...
    OUT_DIR/annotations/person_keypoints_train.json
    OUT_DIR/annotations/person_keypoints_val.json

Annotation conventions (COCO):

* ``bbox`` is the tight ``[x, y, w, h]`` box of the person's *visible*
  silhouette pixels, ``area`` the number of those pixels.
* ``v=0``: not labelled (the keypoint falls outside the image; its x and y
  are 0). ``v=1``: inside the image but hidden, i.e. covered by an occluder,
  by another person or by one of the person's own body parts, or facing away
  from the camera (e.g. the eyes of a person seen from behind). ``v=2``:
  visible. Visibility is decided with a per-pixel label buffer that is
  drawn with exactly the same geometry and painter's order as the image.
* Every person that is drawn is annotated: people that would end up with
  fewer than ``min_keypoints`` labelled keypoints or fewer than ``min_area``
  visible pixels are removed from the scene *before* the final image is
  rendered, so there are no unlabelled people in the images.

Everything that is COCO-specific (keypoint names and order, skeleton) is
read from MMPose's COCO metainfo; the kinematic model only knows the body
joints by name. The output is byte-identical for identical arguments, and
independent of the number of worker processes: every image has its own
random generator derived from ``(seed, split, index)``.

Modules, in the order of the pipeline: :mod:`.params` (parameters, value
types, label-buffer layout), :mod:`.sampling` (random poses, bodies, views,
looks), :mod:`.person` (posing and tessellating one person),
:mod:`.scene` (placing people and occluders), :mod:`.render` (drawing,
label buffer, annotations), :mod:`.writer` (per-image generators, parallel
rendering, COCO files); :mod:`.geometry` holds the 2D shapes.
``probpose_ext.datasets.synthpose`` remains an alias of this package.

Example:
    >>> from probpose_ext.datasets.generators.synthpose import make_synthpose
    >>> summary = make_synthpose('data/synthpose', num_train=3000,
    ...                          num_val=500, seed=0)
"""
from ..kinematics import (POSE_LIMITS, Body, Pose, coco_keypoint_names,
                          load_coco_metainfo)
from .params import (JOINT_PARTS, OCCLUDER_LABEL, PART_FOREARM, PART_HEAD,
                     PART_NECK, PART_SHIN, PART_THIGH, PART_TORSO,
                     PART_UPPER_ARM, Look, SynthPoseParams, Texture, View)
from .person import Person, build_person, sample_person
from .render import annotate_scene, render_image, render_scene
from .sampling import sample_body, sample_look, sample_pose, sample_view
from .scene import Occluder, Scene, make_occluder, sample_scene
from .writer import GENERATOR_VERSION, SPLITS, image_rng, make_synthpose

__all__ = [
    'GENERATOR_VERSION', 'SynthPoseParams', 'Pose', 'Body', 'View', 'Texture',
    'Look', 'Person', 'Occluder', 'Scene', 'load_coco_metainfo',
    'coco_keypoint_names', 'image_rng', 'sample_pose', 'sample_body',
    'sample_view', 'sample_look', 'build_person', 'sample_person',
    'make_occluder', 'sample_scene', 'render_scene', 'annotate_scene',
    'render_image', 'make_synthpose', 'POSE_LIMITS', 'SPLITS', 'JOINT_PARTS',
    'OCCLUDER_LABEL', 'PART_HEAD', 'PART_NECK', 'PART_TORSO', 'PART_UPPER_ARM',
    'PART_FOREARM', 'PART_THIGH', 'PART_SHIN'
]
