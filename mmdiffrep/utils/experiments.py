"""Run ``tools/train.py`` + ``tools/test.py`` as child processes and tabulate test metrics
(the experiment drivers ``tools/run_baselines.py`` and ``tools/run_repfusion.py``)."""
import json
import os
import os.path as osp
import statistics
import subprocess
import sys
import time
from typing import Dict, List, Sequence, Tuple

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def run(cmd: Sequence[str]) -> None:
    print('+', ' '.join(cmd), flush=True)
    subprocess.run(list(cmd), cwd=ROOT, check=True)


def train(config: str, work_dir: str, seed: int, cfg_options: Sequence[str] = ()) -> float:
    """Train ``config`` into ``work_dir``; returns the minutes it took (also written to
    ``{work_dir}/train_minutes.txt``)."""
    start = time.time()
    run([sys.executable, 'tools/train.py', config, '--work-dir', work_dir, '--cfg-options',
         f'randomness.seed={seed}', *cfg_options])
    minutes = (time.time() - start) / 60
    with open(osp.join(ROOT, work_dir, 'train_minutes.txt'), 'w') as f:
        f.write(f'{minutes:.3f}')
    return minutes


def recorded_minutes(work_dir: str) -> float:
    with open(osp.join(ROOT, work_dir, 'train_minutes.txt')) as f:
        return float(f.read())


def last_checkpoint(work_dir: str) -> str:
    with open(osp.join(ROOT, work_dir, 'last_checkpoint')) as f:
        return f.read().strip()


def train_and_test(config: str, work_dir: str, seed: int, cfg_options: Sequence[str] = (),
                   reuse: bool = False) -> Tuple[Dict[str, float], float]:
    """Train, then evaluate the last checkpoint on the test split: (metrics, train minutes).
    ``reuse``: return the metrics of an earlier run in ``work_dir`` if there are any (minutes
    then read from its record)."""
    test_dir = osp.join(work_dir, 'test')
    metrics_file = osp.join(ROOT, test_dir, 'test_metrics.json')
    if reuse and osp.exists(metrics_file):
        with open(metrics_file) as f:
            return json.load(f), recorded_minutes(work_dir)
    minutes = train(config, work_dir, seed, cfg_options)
    run([sys.executable, 'tools/test.py', config, last_checkpoint(work_dir), '--work-dir',
         test_dir, *(['--cfg-options', *cfg_options] if cfg_options else [])])
    with open(metrics_file) as f:
        return json.load(f), minutes


def mean_std(values: List[float]) -> str:
    if len(values) == 1:
        return f'{values[0]:.2f}'
    return f'{statistics.mean(values):.2f} ± {statistics.stdev(values):.2f}'


def markdown_table(header: Sequence[str], rows: Sequence[Sequence]) -> str:
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    lines += ['| ' + ' | '.join(str(c) for c in row) + ' |' for row in rows]
    return '\n'.join(lines)


def write_table(work_dir: str, name: str, table: str) -> str:
    os.makedirs(osp.join(ROOT, work_dir), exist_ok=True)
    path = osp.join(ROOT, work_dir, name)
    with open(path, 'w') as f:
        f.write(table + '\n')
    return path
