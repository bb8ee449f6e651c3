"""`python -m backend.worker`: an RQ worker with the app context pushed, for JOBS_BACKEND=rq.

Runs the scheduler too, so delayed jobs (push retries) are moved onto the queue when due;
several workers may run it, RQ elects one scheduler per queue.
"""
from rq import Worker

from . import create_app
from .jobs import rq_queue


def main() -> None:
    app = create_app()
    with app.app_context():
        queue = rq_queue(app)
        Worker([queue], connection=queue.connection).work(with_scheduler=True)


if __name__ == "__main__":
    main()
