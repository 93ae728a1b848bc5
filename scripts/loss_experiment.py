"""Train or reuse lesson 07's runs (four losses over seeds, the main run's recipe), score
each on Kodak24 and write ``results/loss_experiment-<profile>.json``, which the lesson reads
for the seeds it does not train itself.

    python scripts/loss_experiment.py [--seeds 0 1 2]     # what `make results` runs

About half an hour on two cores the first time (twelve runs); seconds once ``runs/`` holds them.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from colorlib.config import repo_root
from colorlib.lessons.loss_experiment import loss_experiment, results_file, write_results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args()
    _, entries = loss_experiment(seeds=args.seeds, train=True, log=print)
    write_results(results_file(), entries)
    print(f"wrote {results_file().relative_to(repo_root() or Path.cwd()).as_posix()}")


if __name__ == "__main__":
    main()
