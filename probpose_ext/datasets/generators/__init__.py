"""The embedded data generators and the models they share.

* :mod:`.kinematics`: the public 3D body model (joint angles and limits,
  body proportions, forward kinematics over (time, people), COCO-17 and
  Human3.6M-17 joint sets).
* :mod:`.camera`: pinhole cameras in MMPose's ``SimpleCamera`` /
  ``cameras.pkl`` conventions and a Human3.6M-like rig.
* :mod:`.motion`: parametric human motions (walk, reach, squat, turn, jump,
  sit, wave, box) as joint-angle trajectories with root paths on the floor,
  and per-subject bodies.
* :mod:`.synthpose`: SynthPose, synthetic 2D pose images in COCO format.
* :mod:`.synthmotion`: SynthMotion, synthetic 3D motion sequences seen by
  four cameras, in MMPose's Human3.6M annotation layout (no images).
* :mod:`.synthmotion_video`: the SynthMotion sequences rendered to video
  frames by the SynthPose renderer (npz and COCO annotations).
* :mod:`.cropcoco`: CropCOCO, cropped copies of COCO keypoint data sets.
* :mod:`.common`: per-item random generators, argument checks, encoding,
  atomic output directories and the worker pool the generators share.

Nothing is imported here: the modules need no registry and are imported on
demand (``from probpose_ext.datasets.generators.synthpose import
make_synthpose``).
"""
