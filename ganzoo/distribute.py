"""Training on several worker processes: TensorFlow's MultiWorkerMirroredStrategy with Keras 3.

Each worker runs the same program with its own `TF_CONFIG` (the cluster's addresses and its own
index); variables are mirrored on every worker and gradients all-reduced over gRPC. Every worker
must take part in every collective (each train step, and sampling: `predict` gathers across
workers), so every worker runs the same code, callbacks included; only the chief's files land
where they are meant to, the others' in temporary places (Keras 2's multi-worker convention).
"""

import json
import os
import socket

import tensorflow as tf


def across_workers(strategy):
    """Whether `strategy` all-reduces across worker processes: MultiWorkerMirroredStrategy with
    more than one worker (with one it is a local strategy, and Keras treats it as one)."""
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.num_replicas_in_sync > len(strategy.extended.worker_devices))


def _task(strategy):
    """(task type, index, whether it is the chief) of this process: from `strategy` (or the
    one in scope), else from TF_CONFIG (outside a scope, in a worker's script), else a lone
    process, the chief."""
    strategy = strategy or (tf.distribute.get_strategy() if tf.distribute.has_strategy() else None)
    if strategy is not None and not across_workers(strategy):
        return None, 0, True
    if strategy is not None:
        resolver = strategy.cluster_resolver
        return resolver.task_type, resolver.task_id, strategy.extended.should_checkpoint
    config = json.loads(os.environ.get("TF_CONFIG") or "{}")
    task = config.get("task", {})
    if not task:
        return None, 0, True
    kind, index = task.get("type"), int(task.get("index", 0))
    # As MultiWorkerMirroredStrategy decides: the "chief" task if there is one, else worker 0.
    chief = kind == "chief" if "chief" in config.get("cluster", {}) else (kind == "worker" and index == 0)
    return kind, index, chief


def is_chief(strategy=None):
    """Whether this process writes the job's files: always, unless it is a non-chief worker."""
    return _task(strategy)[2]


def worker_path(path, strategy=None):
    """Where this process writes what belongs at `path`: `path` itself on the chief, a
    temporary sibling on other workers (`.worker-<index>-<name>`), for them to delete when done."""
    kind, index, chief = _task(strategy)
    if chief:
        return path
    head, tail = os.path.split(os.path.normpath(path))
    return os.path.join(head, f".{kind}-{index}-{tail}")


def check_same_on_every_worker(strategy, values, what):
    """Raises on the workers whose integers `values` differ from the others' (e.g. which
    checkpoint each resumed from: a shared filesystem's stale listing could give two workers
    different ones, and mirrored variables would then silently differ). One small all-reduce;
    nothing without several workers."""
    if not across_workers(strategy):
        return
    local = tf.constant(values, tf.float64)  # small integers: exact in float64 sums
    total = strategy.reduce(tf.distribute.ReduceOp.SUM, strategy.run(lambda: tf.identity(local)), axis=None)
    if not bool(tf.reduce_all(total == local * strategy.num_replicas_in_sync)):
        raise RuntimeError(
            f"The workers disagree on where this run {what}: this worker has {values}, the sum over "
            f"{strategy.num_replicas_in_sync} replicas is {total.numpy().tolist()}. Check that every worker sees "
            "the same run directory (a shared filesystem, no stale cache), then start them all again.")


class WorkerLostError(RuntimeError):
    """A worker of the cluster stopped mid-run; every worker must start again to resume."""


STRATEGIES = ("auto", "none", "mirrored", "multi_worker")


def make_strategy(name="auto"):
    """The tf.distribute strategy `ganzoo train --distribute NAME` trains under: "none" (one
    device), "mirrored" (every local GPU, or the CPU), "multi_worker" (the cluster in
    TF_CONFIG), or "auto": "multi_worker" when TF_CONFIG is set, else "none". Create it before
    TensorFlow runs anything else, as MultiWorkerMirroredStrategy requires."""
    if name not in STRATEGIES:
        raise ValueError(f"Unknown distribution {name!r}; valid: {', '.join(STRATEGIES)}.")
    if name == "auto":
        name = "multi_worker" if os.environ.get("TF_CONFIG") else "none"
    if name == "multi_worker":
        if not os.environ.get("TF_CONFIG"):
            raise ValueError("--distribute multi_worker needs TF_CONFIG: the cluster's worker addresses and "
                             'this worker\'s index, e.g. {"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
                             '"task": {"type": "worker", "index": 0}}.')
        return tf.distribute.MultiWorkerMirroredStrategy()
    if name == "mirrored":
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def local_cluster(workers):
    """TF_CONFIG values for a cluster of `workers` processes on this machine (127.0.0.1, free
    ports), one per worker: to try multi-worker training, and for tests and benchmarks."""
    sockets = [socket.socket() for _ in range(workers)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    addresses = [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]
    for s in sockets:  # released for the workers to bind (another process could take one first)
        s.close()
    return [json.dumps({"cluster": {"worker": addresses}, "task": {"type": "worker", "index": index}})
            for index in range(workers)]
