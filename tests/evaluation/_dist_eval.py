"""Run by ``torch.distributed.run`` (2 processes, gloo): each rank feeds half
of the samples to ExCocoMetric; rank 0 writes the gathered metrics.

    python -m torch.distributed.run --nproc_per_node=2 _dist_eval.py \
        GT_JSON SAMPLES_PKL OUT_JSON
"""
import json
import pickle
import sys

import torch.distributed as dist

from probpose_ext.evaluation import ExCocoMetric


def main(gt_file: str, samples_file: str, out_file: str) -> None:
    dist.init_process_group('gloo')
    rank, world = dist.get_rank(), dist.get_world_size()
    with open(samples_file, 'rb') as f:
        meta, samples = pickle.load(f)
    metric = ExCocoMetric(ann_file=gt_file)
    metric.dataset_meta = meta
    shard = samples[rank::world]  # interleaved, like a sampler would
    for i in range(0, len(shard), 3):
        metric.process([], shard[i:i + 3])
    result = metric.evaluate(len(samples))
    if rank == 0:
        with open(out_file, 'w') as f:
            json.dump(dict(world=world, metrics=result), f)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == '__main__':
    main(*sys.argv[1:4])
