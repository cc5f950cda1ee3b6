"""Scaling across worker processes: one worker against two (MultiWorkerMirroredStrategy on 127.0.0.1).

    python tools/benchmark_scaling.py                    # dcgan28_b256 and vanilla_gan_ring8, 3 repeats
    python tools/benchmark_scaling.py --cases dcgan28_b256 --repeats 5

Each case of tools/benchmark_throughput.py (its model built and compiled as its config says, on
fixed real data, at the same global batch) is trained by `fit` in three layouts:
  1 worker, all threads   one process, TensorFlow's default threading (every core)
  1 worker, 1 thread      one process limited to one intra-op and one inter-op thread
  2 workers, 1 thread     two processes of one cluster (TF_CONFIG on 127.0.0.1), each on one
                          thread and half of each global batch; gradients all-reduced over gRPC
Figures are generator updates/s of the whole job (the global batch's), the median over
`--repeats` runs, each layout a fresh set of processes, layouts alternated. On one machine two
workers share its cores: what this shows is the cost of the all-reduce and of splitting the batch,
not the speed-up of adding machines, which needs machines. Writes benchmarks/scaling.json and
benchmarks/scaling.md, with the CPU model and flags.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
LAYOUTS = {  # name -> (workers, threads per worker; None: TensorFlow's default)
    "1 worker, all threads": (1, None),
    "1 worker, 1 thread": (1, 1),
    "2 workers, 1 thread each": (2, 1),
}


def measure_here(name, threads):
    """Trains case `name` in this process (a worker of TF_CONFIG's cluster, if set); returns
    the job's generator updates/s."""
    import tensorflow as tf

    if threads:  # before the strategy, which starts the runtime
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(threads)
    strategy = tf.distribute.MultiWorkerMirroredStrategy() if os.environ.get("TF_CONFIG") else tf.distribute.get_strategy()
    from benchmark_throughput import CASES, ganzoo_worker

    record = ganzoo_worker(CASES[name], "float32", jit_compile=False, strategy=strategy)
    return {"generator_updates_per_s": record["generator_updates_per_s"], "replicas": strategy.num_replicas_in_sync}


def run_layout(name, workers, threads):
    """One measurement of case `name`: `workers` fresh processes; returns the chief's record."""
    from ganzoo.distribute import local_cluster

    processes = []
    for config in local_cluster(workers) if workers > 1 else [None]:
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
        if config:
            env["TF_CONFIG"] = config
        command = [sys.executable, os.path.abspath(__file__), "--worker", name, "--threads", str(threads or 0)]
        processes.append(subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    outputs = [p.communicate() for p in processes]
    for p, (_, err) in zip(processes, outputs):
        if p.returncode:
            raise RuntimeError(f"case {name}, {workers} worker(s) failed:\n{err[-3000:]}")
    return json.loads(outputs[0][0].strip().splitlines()[-1])


def write_markdown(report, path):
    cpu = report["cpu"]
    lines = ["# Scaling across worker processes", "",
             f"`{report['command']}`: generator updates/s of the whole job at the same global batch, median of "
             f"{report['repeats']} runs per layout (each a fresh set of processes). Two workers on one 2-core "
             "machine share its cores: the table shows what the all-reduce and the split batch cost, not what "
             "a second machine would add.", "",
             f"Machine: {cpu['model']}, {os.cpu_count()} CPUs (lscpu flags include: "
             f"{', '.join(f for f in ('avx512_bf16', 'amx_bf16', 'amx_tile') if f in cpu['flags']) or 'none of the bf16 ones'}).",
             "", "| case | " + " | ".join(LAYOUTS) + " | 2 workers / 1 worker, 1 thread |",
             "|---|" + "---|" * (len(LAYOUTS) + 1)]
    for name, row in report["results"].items():
        cells = [f"{row[layout]['median']:.1f}" for layout in LAYOUTS]
        ratio = row["2 workers, 1 thread each"]["median"] / row["1 worker, 1 thread"]["median"]
        lines.append(f"| {name} (global batch {row['batch']}) | " + " | ".join(cells) + f" | {ratio:.2f} |")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    return lines


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", default="dcgan28_b256,vanilla_gan_ring8")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default=os.path.join(ROOT, "benchmarks"))
    parser.add_argument("--worker", help=argparse.SUPPRESS)  # internal: measure one case in this process
    parser.add_argument("--threads", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(measure_here(args.worker, args.threads or None)))
        return

    from benchmark_throughput import CASES, cpu_description

    names = args.cases.split(",")
    unknown = set(names) - set(CASES)
    if unknown:
        raise SystemExit(f"Unknown case(s) {', '.join(sorted(unknown))}; valid: {', '.join(CASES)}.")
    runs = {name: {layout: [] for layout in LAYOUTS} for name in names}
    for repeat in range(args.repeats):
        for name in names:
            for layout, (workers, threads) in LAYOUTS.items():
                record = run_layout(name, workers, threads)
                assert record["replicas"] == workers
                runs[name][layout].append(record["generator_updates_per_s"])
                print(f"[{repeat + 1}/{args.repeats}] {name}, {layout}: {record['generator_updates_per_s']:.1f} "
                      "updates/s", flush=True)
    results = {name: {"batch": CASES[name]["batch"],
                      **{layout: {"median": statistics.median(values), "runs": values}
                         for layout, values in runs[name].items()}} for name in names}
    report = {"command": " ".join(["python", "tools/benchmark_scaling.py"] + sys.argv[1:]), "cpu": cpu_description(),
              "repeats": args.repeats, "results": results}
    from ganzoo.run_directory import write_json

    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "scaling.json"), report)
    print("\n".join(write_markdown(report, os.path.join(args.out, "scaling.md"))))


if __name__ == "__main__":
    main()
