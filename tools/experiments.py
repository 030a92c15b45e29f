"""The helpers of the experiment drivers (``tools/run_baselines.py``, ``tools/run_repfusion.py``,
``tools/run_drl.py``), kept beside them: run ``tools/train.py`` + ``tools/test.py`` as child
processes, tabulate test metrics, and the label-efficiency protocol they share. Import it from
a tool with ``tools/`` on ``sys.path`` (``from experiments import ...``).

**The protocol** (:data:`REGIMES`, :func:`regime_options`): a model is fine-tuned on the 1 %,
10 % or 100 % labelled subset of the Shapes training split with a schedule fixed per (task,
regime) and identical for every initialisation (scratch or pre-trained); it is validated on
the val split during training, the checkpoint with the best val metric is kept, and only that
checkpoint is scored on the test split.
"""
import argparse
import contextlib
import glob
import hashlib
import json
import os
import os.path as osp
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from typing import Callable, Dict, Hashable, List, NamedTuple, Optional, Sequence, Tuple

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
_OUTPUT = threading.local()  # .path: where run() sends child output in this thread


def run(cmd: Sequence[str]) -> None:
    """Run a child process in the repository root; its output goes to the terminal, or to the
    file of an enclosing :func:`child_output` block of this thread."""
    path = getattr(_OUTPUT, 'path', None)
    if path is None:
        print('+', ' '.join(cmd), flush=True)
        subprocess.run(list(cmd), cwd=ROOT, check=True)
        return
    with open(path, 'a') as log:
        log.write('+ ' + ' '.join(cmd) + '\n')
        log.flush()
        result = subprocess.run(list(cmd), cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    if result.returncode:
        raise RuntimeError(f'{" ".join(cmd)} failed (exit {result.returncode}); its output: '
                           f'{path}')


@contextlib.contextmanager
def child_output(path: str):
    """Within this block, :func:`run` in this thread appends its children's output to
    ``path`` (created with its folder), so that runs in parallel do not interleave."""
    os.makedirs(osp.dirname(path), exist_ok=True)
    _OUTPUT.path = path
    try:
        yield path
    finally:
        _OUTPUT.path = None


class Job(NamedTuple):
    """One run of an experiment driver for :func:`run_jobs`: ``fn()`` does it, once every job
    in ``deps`` (keys) has finished; ``log`` receives its children's output when jobs run in
    parallel."""
    key: Hashable
    what: str
    fn: Callable[[], object]
    deps: Tuple[Hashable, ...] = ()
    log: Optional[str] = None


def last_progress_line(log: Optional[str]) -> str:
    """The last mmengine ``Iter(...)`` / ``Epoch(...)`` line of a log, shortened to the
    iteration and ETA (``'starting'`` while there is none)."""
    if not log or not osp.exists(log):
        return 'starting'
    with open(log, 'rb') as f:
        f.seek(max(0, osp.getsize(log) - 8192))
        lines = [line for line in f.read().decode(errors='replace').splitlines()
                 if 'Iter(' in line or 'Epoch(' in line]
    if not lines:
        return 'starting'
    line = lines[-1].partition(' - mmengine - INFO - ')[2] or lines[-1]  # without the stamp
    short = line.split('  time:')[0].split('  lr:')[0][:100]
    return short + ('  eta: ' + line.split('eta: ')[1].split()[0] if 'eta: ' in line else '')


def run_jobs(jobs: Sequence[Job], workers: int = 1, name: str = 'runs',
             progress_every: float = 120) -> Dict[Hashable, object]:
    """Run ``jobs`` on up to ``workers`` at a time, each as soon as its dependencies are done
    (the first ready job in list order goes next), printing progress with an ETA; returns
    ``{key: fn()}``. With ``workers > 1`` each job's child output goes to its ``log`` and
    every child gets ``cpu_count // workers`` OpenMP threads unless ``OMP_NUM_THREADS`` is set,
    and every ``progress_every`` seconds the last progress line of each running job's log is
    printed.
    A failing job stops new starts; the error is raised once the running ones have ended.

    Example (a fine-tune that needs the distilled student, a baseline that does not)::

        results = run_jobs([Job('distill', 'distillation', distill),
                            Job('repfusion', 'fine-tune it', fine_tune, deps=('distill', )),
                            Job('scratch', 'baseline', baseline)], workers=2)
        # distill and baseline start at once, fine_tune when distill is done;
        # results == {'distill': distill(), 'scratch': baseline(), 'repfusion': fine_tune()}
    """
    keys = [job.key for job in jobs]
    if len(set(keys)) != len(keys):
        raise ValueError(f'run_jobs: duplicate job keys in {keys}')
    known = set(keys)
    unknown = sorted({str(d) for job in jobs for d in job.deps if d not in known})
    if unknown:
        raise ValueError(f'run_jobs: dependencies {unknown} are not jobs; jobs: {keys}')
    if workers < 1:
        raise ValueError(f'run_jobs: workers must be >= 1, got {workers}')
    threads_set = 'OMP_NUM_THREADS' in os.environ
    if workers > 1 and not threads_set:  # for the children of this call only
        os.environ['OMP_NUM_THREADS'] = str(max(1, (os.cpu_count() or 1) // workers))
    try:
        return _schedule(jobs, workers, name, progress_every)
    finally:
        if workers > 1 and not threads_set:
            os.environ.pop('OMP_NUM_THREADS', None)


def _schedule(jobs: Sequence[Job], workers: int, name: str,
              progress_every: float) -> Dict[Hashable, object]:
    """The loop of :func:`run_jobs` (arguments checked there)."""
    start, results, pending, running = time.time(), {}, list(jobs), {}
    started = 0

    def elapsed():
        return (time.time() - start) / 60

    def execute(job):
        if workers == 1 or job.log is None:
            return job.fn()
        with child_output(job.log):
            return job.fn()

    failure = None
    with ThreadPoolExecutor(workers) as pool:
        while (pending and failure is None) or running:
            ready = [job for job in pending if all(d in results for d in job.deps)]
            for job in ready[:max(0, workers - len(running))] if failure is None else []:
                pending.remove(job)
                started += 1
                done = len(results)
                # (no ETA while only reused runs have finished: they took no time)
                eta = (f', ~{elapsed() / done * (len(jobs) - done):.0f} min left'
                       if done and elapsed() > 0.5 else '')
                log = f'; output: {job.log}' if workers > 1 and job.log else ''
                print(f'\n[{name} {started}/{len(jobs)}] {job.what} ({elapsed():.1f} min '
                      f'elapsed{eta}{log})', flush=True)
                running[pool.submit(execute, job)] = job
            if not running:
                raise ValueError(f'run_jobs: jobs {[j.key for j in pending]} wait on each other')
            finished, _ = wait(running, timeout=progress_every, return_when=FIRST_COMPLETED)
            if not finished and workers > 1:  # what each running job's log says last
                for job in running.values():
                    print(f'[{name}] {elapsed():.1f} min: {job.what}: '
                          f'{last_progress_line(job.log)}', flush=True)
            for future in finished:
                job = running.pop(future)
                if future.exception() is not None:
                    failure = failure or future.exception()
                    print(f'[{name}] FAILED: {job.what}: {future.exception()}; waiting for '
                          f'{len(running)} running job(s)', flush=True)
                    continue
                results[job.key] = future.result()
                if workers > 1:
                    print(f'[{name}] done: {job.what} ({elapsed():.1f} min elapsed)', flush=True)
    if failure is not None:
        raise failure
    return results


def train(config: str, work_dir: str, seed: int, cfg_options: Sequence[str] = (),
          resume: bool = False) -> float:
    """Train ``config`` into ``work_dir``; returns the minutes it took (also written to
    ``{work_dir}/train_minutes.txt``).

    ``resume`` (the drivers' ``--reuse``): a training of the same config, seed, options and
    inputs (:func:`check_reuse`) that already finished is not repeated, and one that was
    interrupted after a checkpoint continues from it (``tools/train.py --resume``, exact:
    the random states travel in the checkpoints); its minutes then include the interrupted
    part's (until its last write). Anything else trains anew (``--overwrite``).
    """
    work = osp.join(ROOT, work_dir)
    minutes_file = osp.join(work, 'train_minutes.txt')
    state = training_state(work_dir) if resume else 'none'
    if state == 'finished':
        check_reuse(work_dir, config, seed, cfg_options)
        return recorded_minutes(work_dir)
    os.makedirs(work, exist_ok=True)
    before, record = 0.0, dict(run_record(config, seed, cfg_options),
                               inputs=input_fingerprint(config, cfg_options))
    if state == 'interrupted':
        check_reuse(work_dir, config, seed, cfg_options, inputs=record['inputs'])
        with open(osp.join(work, RUN_RECORD)) as f:
            old = json.load(f)
        before = old.get('minutes_before_resume', 0.0) + _segment_minutes(work_dir)
        record.update(minutes_before_resume=round(before, 3),
                      resumed=old.get('resumed', 0) + 1)
        print(f'--reuse: {work_dir} was interrupted after {before:.1f} min: resuming it from '
              'its latest checkpoint', flush=True)
    else:  # an earlier run's results would pass for this one's if it were interrupted
        _remove_results(work_dir)
    start = time.time()
    with open(osp.join(work, RUN_RECORD), 'w') as f:  # what --reuse checks
        json.dump(record, f, indent=1)
    run([sys.executable, 'tools/train.py', config, '--work-dir', work_dir,
         '--resume' if state == 'interrupted' else '--overwrite',
         '--cfg-options', f'randomness.seed={seed}', *cfg_options])
    minutes = before + (time.time() - start) / 60
    with open(minutes_file, 'w') as f:
        f.write(f'{minutes:.3f}')
    return minutes


def training_state(work_dir: str) -> str:
    """``'finished'`` (train minutes written), ``'interrupted'`` (recorded and checkpointed,
    never finished) or ``'none'`` for the training in ``work_dir``."""
    work = osp.join(ROOT, work_dir)
    if osp.exists(osp.join(work, 'train_minutes.txt')):
        return 'finished'
    if osp.exists(osp.join(work, RUN_RECORD)) and (
            glob.glob(osp.join(work, '*.pth')) or osp.exists(osp.join(work, 'last_checkpoint'))):
        return 'interrupted'
    return 'none'


TABLE_ONLY_HELP = ('tabulate finished runs only (as --reuse, checking each run\'s settings) '
                   'and train nothing: a run that has not finished is an error, listed before '
                   'anything starts')


def add_run_control_args(parser: argparse.ArgumentParser,
                         jobs_help: Optional[str] = None) -> None:
    """Add the options every driver shares: ``--reuse``, ``--table-only`` and, for a driver
    that can run trainings side by side, ``--jobs`` (``jobs_help`` says which ones). Parse
    with :func:`parse_run_control_args`, which checks them."""
    parser.add_argument('--reuse', action='store_true',
                        help='reuse finished runs of the same config, seed, options and '
                        'inputs; resume interrupted ones')
    parser.add_argument('--table-only', action='store_true', help=TABLE_ONLY_HELP)
    if jobs_help is not None:
        parser.add_argument('--jobs', type=int, default=1, help=jobs_help)


def parse_run_control_args(parser: argparse.ArgumentParser,
                           argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    """``parser.parse_args(argv)`` plus the checks of :func:`add_run_control_args`' options:
    ``--jobs`` must be >= 1 (a usage error naming the value), and ``--table-only`` implies
    ``--reuse`` (it tabulates the reused runs)."""
    args = parser.parse_args(argv)
    if getattr(args, 'jobs', 1) < 1:
        parser.error(f'--jobs must be >= 1, got {args.jobs}')
    args.reuse = args.reuse or args.table_only
    return args


def require_finished(work_dirs: Sequence[str], flag: str = '--table-only') -> None:
    """The drivers' read-only table mode: raise, naming every one, if any training in
    ``work_dirs`` has not finished (:func:`training_state`), so that a table invocation never
    starts hours of training by accident (``--reuse`` trains a missing run and resumes an
    interrupted one). A finished fine-tune not yet tested is still tested (seconds)."""
    states = {work: training_state(work) for work in work_dirs}
    missing = [f'{work} ({state})' for work, state in states.items() if state != 'finished']
    if missing:
        raise SystemExit(f'{flag} trains nothing, but {len(missing)} of {len(work_dirs)} '
                         f'run(s) have not finished (none / interrupted): {missing}; run the '
                         f'same command with --reuse instead of {flag} to train or resume them')


def _remove_results(work_dir: str) -> None:
    """Delete what an earlier training in ``work_dir`` left (minutes, checkpoints, exported
    weights, test metrics) before a new one starts there: ``--overwrite`` replaces them only
    as the new run saves, and until then ``--reuse`` would take them for the new run's."""
    work = osp.join(ROOT, work_dir)
    stale = glob.glob(osp.join(work, '*.pth')) + [
        osp.join(work, name) for name in ('train_minutes.txt', 'last_checkpoint',
                                          osp.join('test', 'test_metrics.json'))]
    for path in stale:
        if osp.isfile(path):
            os.remove(path)


def _segment_minutes(work_dir: str) -> float:
    """Minutes from the (re)start of the training in ``work_dir`` (its run record is written
    then) to its last write (log, checkpoint): what an interrupted segment took."""
    work = osp.join(ROOT, work_dir)
    start = osp.getmtime(osp.join(work, RUN_RECORD))
    last = max((osp.getmtime(osp.join(d, n)) for d, _, names in os.walk(work) for n in names),
               default=start)
    return max(0.0, last - start) / 60


RUN_RECORD = 'run_record.json'


def run_record(config: str, seed: int, cfg_options: Sequence[str]) -> dict:
    return dict(config=config, seed=int(seed), cfg_options=list(cfg_options))


#: file suffixes of model weights: the inputs whose contents :func:`input_fingerprint` hashes
WEIGHT_SUFFIXES = ('.pth', '.pt', '.bin', '.safetensors', '.ckpt')
_CONFIG_LOCK = threading.Lock()  # run_jobs' threads fingerprint their runs at the same time
_MAX_WEIGHT_FILES = 64  # a folder with more files is a dataset or a package, not weights


def _sha256(paths: Sequence[str]) -> str:
    """A short hash of files' names (relative to the repository) and contents."""
    digest = hashlib.sha256()
    for path in paths:
        digest.update(osp.relpath(path, ROOT).encode())
        with open(path, 'rb') as f:
            for block in iter(lambda: f.read(1 << 20), b''):
                digest.update(block)
    return digest.hexdigest()[:16]


def _weight_files(path: str) -> List[str]:
    """The weight files a config string names: itself, or those in a small folder (a diffusers
    model folder); none for anything else (data, packages, missing paths)."""
    if osp.isfile(path):
        return [path] if path.endswith(WEIGHT_SUFFIXES) else []
    if not osp.isdir(path):
        return []
    files = sorted(osp.join(d, n) for d, _, names in os.walk(path) for n in names)
    if len(files) > _MAX_WEIGHT_FILES or not any(f.endswith(WEIGHT_SUFFIXES) for f in files):
        return []
    return files


def input_fingerprint(config: str, cfg_options: Sequence[str]) -> Dict[str, str]:
    """What a run reads besides its command line, hashed: the merged config (so an edited
    config or ``_base_`` file shows) and the contents of every weight file or model folder
    it names (a retrained teacher or a re-run pre-training shows, though the paths stay).

    Example:
        >>> input_fingerprint('configs/repfusion/repfusion-hint_ddpm-shapes32_vgg11-bn_'
        ...                   '1xb64-600it_shapes-32x32.py', [])  # doctest: +SKIP
        {'config': '3f1c...', 'checkpoints/ddpm-shapes32': '9a0b...'}
    """
    from mmengine.config import Config, DictAction
    with _CONFIG_LOCK:  # mmengine resolves `pkg::` bases with pkg_resources, not thread-safe
        cfg = Config.fromfile(osp.join(ROOT, config), import_custom_modules=False)
    if cfg_options:
        parser = argparse.ArgumentParser()
        parser.add_argument('--cfg-options', nargs='+', action=DictAction)
        cfg.merge_from_dict(parser.parse_args(['--cfg-options', *cfg_options]).cfg_options)
    merged = cfg.to_dict()
    text = json.dumps(merged, sort_keys=True,  # object reprs without their memory address
                      default=lambda obj: re.sub(r' at 0x[0-9a-fA-F]+', '', repr(obj)))
    fingerprint = {'config': hashlib.sha256(text.encode()).hexdigest()[:16]}
    for value in sorted(set(_strings(merged))):
        files = _weight_files(osp.join(ROOT, value))
        if files:
            fingerprint[value] = _sha256(files)
    return fingerprint


def _strings(tree):
    if isinstance(tree, dict):
        for value in tree.values():
            yield from _strings(value)
    elif isinstance(tree, (list, tuple)):
        for value in tree:
            yield from _strings(value)
    elif isinstance(tree, str):
        yield tree


def check_reuse(work_dir: str, config: str, seed: int, cfg_options: Sequence[str],
                inputs: Optional[Dict[str, str]] = None) -> None:
    """``--reuse`` returns an earlier run's results only if that run had this config, seed and
    options and read the same inputs (:func:`input_fingerprint`: config contents, weights);
    anything else is an error naming the difference. A renamed config file is accepted when
    its merged contents and weights are unchanged (same fingerprint), with a note. Records
    made before inputs were fingerprinted are checked on config, seed and options only (with a
    note). ``inputs``: this run's fingerprint when the caller has computed it already."""
    path = osp.join(ROOT, work_dir, RUN_RECORD)
    if not osp.exists(path):
        raise ValueError(f'--reuse: {work_dir} has results but no {RUN_RECORD} (made before '
                         'runs were recorded): delete the folder or run without --reuse')
    with open(path) as f:
        old = json.load(f)
    new = run_record(config, seed, cfg_options)
    diff = {k: (old.get(k), v) for k, v in new.items() if old.get(k) != v}
    renamed = set(diff) == {'config'}
    if (not diff or renamed) and 'inputs' in old:
        if inputs is None:  # a vanished input is a change too
            inputs = input_fingerprint(config, cfg_options)
        diff.update({f'inputs[{k}]': (old['inputs'].get(k), inputs.get(k))
                     for k in sorted(set(inputs) | set(old['inputs']))
                     if old['inputs'].get(k) != inputs.get(k)})
        if renamed and set(diff) == {'config'}:
            print(f'--reuse: {work_dir} was run from {old["config"]}, whose merged contents '
                  f'equal {config}\'s (same fingerprint): taken as a renamed config', flush=True)
            return
    elif not diff:
        print(f'--reuse: {work_dir} was recorded before inputs were fingerprinted: its config '
              'contents and weights are not checked', flush=True)
    if diff:
        raise ValueError(f'--reuse: {work_dir} was run with other settings (earlier, now): '
                         f'{diff}; delete it or run without --reuse')


def recorded_minutes(work_dir: str) -> float:
    return float(_read(osp.join(ROOT, work_dir, 'train_minutes.txt')))


_LOG_DIR = re.compile(r'^\d{8}_\d{6}$')  # mmengine's timestamped log folder of one start


def val_curve(work_dir: str, metric: str) -> List[float]:
    """``metric`` at each validation of the training in ``work_dir``, in order, read from
    mmengine's ``{timestamp}/vis_data/scalars.json`` (whose ``step`` of a validation is the
    iteration in mmseg's configs but 0 in mmpretrain's and mmpose's, so it is not used).

    Each start of ``tools/train.py`` logs into a new timestamped folder: the curve joins the
    latest fresh start's folder with those of the resumes after it (their log says
    ``resumed epoch``), so the folders of an earlier, replaced run are left out. Empty when
    the run logged no validation (or has no folder yet).
    """
    work = osp.join(ROOT, work_dir)
    starts = sorted(d for d in os.listdir(work) if _LOG_DIR.match(d)
                    and osp.isdir(osp.join(work, d))) if osp.isdir(work) else []
    current = []
    for stamp in reversed(starts):
        current.insert(0, stamp)
        log = osp.join(work, stamp, f'{stamp}.log')
        if not (osp.exists(log) and 'resumed epoch' in _read(log)):
            break  # a fresh start: the folders before it belong to earlier runs
    curve = []
    for stamp in current:
        scalars = osp.join(work, stamp, 'vis_data', 'scalars.json')
        for line in _read(scalars).splitlines() if osp.exists(scalars) else ():
            record = json.loads(line)
            if metric in record:
                curve.append(float(record[metric]))
    return curve


def train_command(config: str, work_dir: str, seed: int,
                  cfg_options: Sequence[str] = ()) -> str:
    """The ``tools/train.py`` command line that :func:`train` runs for these settings, as the
    runners list it in ``commands.txt`` for a user to repeat one run."""
    return (f'python tools/train.py {config} --work-dir {work_dir} '
            f'--cfg-options randomness.seed={seed} {" ".join(cfg_options)}').rstrip()


def per_run_lines(runs: Sequence[Tuple[str, str, Dict[str, float], str]]) -> str:
    """One line per run, ``(label, metric, test metrics, work dir)``: its test value (of the
    best-val checkpoint) and its val curve (:func:`val_curve`, the model selection it came
    from), so the spread behind a mean ± std and a still-rising curve show beside a table.

    Example::

        >>> print(per_run_lines([('seg, full, scratch, seed 0', 'mIoU', {'mIoU': 83.58},
        ...                       'work_dirs/never_run')]))
        Per seed: test of the best-val checkpoint; val at each validation, in order:
        - seg, full, scratch, seed 0: test 83.58; val not logged
    """
    lines = ['Per seed: test of the best-val checkpoint; val at each validation, in order:']
    for label, metric, metrics, work in runs:
        curve = ' / '.join(f'{in_points(metric, v):.2f}' for v in val_curve(work, metric))
        lines.append(f'- {label}: test {in_points(metric, metrics[metric]):.2f}; '
                     f'val {curve or "not logged"}')
    return '\n'.join(lines)


def _read(path: str) -> str:
    with open(path) as f:
        return f.read()


#: labelled fractions of the Shapes training split (annotation-file suffixes of the generator)
REGIMES = {'1pct': '_1pct', '10pct': '_10pct', 'full': ''}
#: per task: (train annotation file pattern, val metric for model selection, iterations per
#: regime), the same for every initialisation. cls: doubling 300 -> 600 (1 %) and 600 -> 1200
#: (10 %) gained nothing (seed 0); with all labels 1000 -> 2000 iterations gained 1.4 +- 0.4
#: points over 3 seeds (95.60 -> 97.00), so the all-label budget is 2000 (~64 epochs); 2000 ->
#: 4000 gained +0.8 / +1.0 / +0.2 test (seeds 0-2: +0.67 +- 0.42, converged narrowly). seg: 1 %
#: 300 -> 600 gained 0.6 mIoU (converged); 10 % 500 -> 1000 gained 1.5 (seed 0, not converged),
#: so its budget is 1000; all labels 1000 -> 2000 -> 4000 gained 7.2 then 2.9 (seed 0, not
#: converged), so its budget is 4000 (4000 -> 8000: +1.8, seed 0, still not converged). kpt:
#: 1 % 300 -> 600 gained 0.2 AP (converged); 10 % 400 -> 800 gained 2.2 AP (seed 0), so its
#: budget is 800 (800 -> 1600: +1.0, borderline); all labels 1000 -> 2000 moved scratch -1.1
#: AP (converged; the frozen-teacher probe +3.7 over 3 seeds, not).
#: README, "label-efficiency protocol".
PROTOCOL = {
    'cls': ('annotations/cls_train{}.txt', 'accuracy/top1',
            {'1pct': 300, '10pct': 600, 'full': 2000}),
    'seg': ('annotations/seg_train{}.txt', 'mIoU', {'1pct': 300, '10pct': 1000, 'full': 4000}),
    'kpt': ('annotations/kpt_train{}.json', 'coco/AP', {'1pct': 300, '10pct': 800, 'full': 1000}),
}


def regime_sizes(data_root: str = 'data/shapes32') -> Dict[str, int]:
    """Labelled training images per regime, as the generator wrote them (``meta.json``):
    ``{'1pct': 18, '10pct': 200, 'full': 2000}`` on the default data (the subsets are
    class-stratified, rounded per class: 3 of ~333 images per class at 1 %)."""
    with open(osp.join(ROOT, data_root, 'meta.json')) as f:
        meta = json.load(f)
    return {regime: meta['labelled_subsets'][f'train{suffix}'] if suffix
            else meta['splits']['train'] for regime, suffix in REGIMES.items()}


def regime_options(task: str, regime: str, iters: int = None, evals: int = 5) -> List[str]:
    """``--cfg-options`` that put an iteration-based fine-tuning config of ``task`` into the
    protocol's ``regime``: its labelled subset, its schedule (``iters``, default the
    protocol's; the cosine / poly decay ends with it) and ``evals`` validations, keeping the
    checkpoint with the best val metric."""
    if task not in PROTOCOL:
        raise KeyError(f'unknown task {task!r}; expected one of {sorted(PROTOCOL)}')
    if regime not in REGIMES:
        raise KeyError(f'unknown regime {regime!r}; expected one of {sorted(REGIMES)}')
    ann, metric, schedule = PROTOCOL[task]
    iters = iters or schedule[regime]
    every = max(1, iters // evals)
    return [f'train_dataloader.dataset.ann_file={ann.format(REGIMES[regime])}',
            f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={every}',
            f'param_scheduler.1.end={iters}', f'default_hooks.checkpoint.interval={every}',
            f'default_hooks.checkpoint.save_best={metric}',
            'default_hooks.checkpoint.rule=greater', 'default_hooks.checkpoint.max_keep_ckpts=1']


def best_checkpoint(work_dir: str) -> str:
    """The checkpoint the val metric selected (``best_*.pth`` of mmengine's CheckpointHook);
    the last one when the run kept no best (no validation)."""
    found = sorted(glob.glob(osp.join(ROOT, work_dir, 'best_*.pth')), key=osp.getmtime)
    return osp.relpath(found[-1], ROOT) if found else last_checkpoint(work_dir)


def last_checkpoint(work_dir: str) -> str:
    return _read(osp.join(ROOT, work_dir, 'last_checkpoint')).strip()


def train_and_test(config: str, work_dir: str, seed: int, cfg_options: Sequence[str] = (),
                   reuse: bool = False) -> Tuple[Dict[str, float], float]:
    """Train, then evaluate the val-selected checkpoint (:func:`best_checkpoint`) on the test
    split: (metrics, train minutes). ``reuse``: return the metrics of an earlier run in
    ``work_dir`` if there are any (minutes then read from its record); a training that
    finished or was interrupted is tested or resumed (:func:`train`)."""
    test_dir = osp.join(work_dir, 'test')
    metrics_file = osp.join(ROOT, test_dir, 'test_metrics.json')
    if reuse and osp.exists(metrics_file):
        check_reuse(work_dir, config, seed, cfg_options)
        with open(metrics_file) as f:
            return json.load(f), recorded_minutes(work_dir)
    minutes = train(config, work_dir, seed, cfg_options, resume=reuse)
    run([sys.executable, 'tools/test.py', config, best_checkpoint(work_dir), '--work-dir',
         test_dir, *(['--cfg-options', *cfg_options] if cfg_options else [])])
    with open(metrics_file) as f:
        return json.load(f), minutes


def in_points(metric: str, value: float) -> float:
    """A metric on the 0-100 scale of the others (mmpose's COCO AP is a fraction)."""
    return 100 * value if metric.startswith('coco/') else value


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
