"""`python -m backend.worker [QUEUE ...]`: an RQ worker with the app context pushed, for
JOBS_BACKEND=rq.

It takes jobs from the named queues (default: all of backend.jobs.QUEUES) in the order
given, most urgent first: between two jobs it always looks at `push` before `solves`. Order
does not interrupt a running job, so the production layout runs one worker for the urgent
queues only (`push packets`), which is free whenever a push arrives, and one or more for all
of them (docs/deploy.md).

Runs RQ's scheduler too, so delayed jobs (push retries) are moved onto their queue when due;
several workers may run it, RQ elects one scheduler per queue.
"""

import argparse

from rq import Worker

from . import create_app
from .jobs import QUEUES, rq_queues


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m backend.worker", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "queues", nargs="*", metavar="QUEUE", help=f"queues to take jobs from, most urgent first (default: {' '.join(QUEUES)})"
    )
    names = parser.parse_args(argv).queues or list(QUEUES)
    unknown = [name for name in names if name not in QUEUES]
    if unknown:
        parser.error(f"unknown queue {', '.join(unknown)} (choose from {', '.join(QUEUES)})")
    app = create_app()
    with app.app_context():
        queues = rq_queues(app, names)
        Worker(queues, connection=queues[0].connection).work(with_scheduler=True)


if __name__ == "__main__":
    main()
