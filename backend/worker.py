"""`python -m backend.worker`: an RQ worker with the app context pushed, for JOBS_BACKEND=rq."""
from redis import Redis
from rq import Queue, Worker

from . import create_app


def main() -> None:
    app = create_app()
    with app.app_context():
        connection = Redis.from_url(app.config["REDIS_URL"])
        queue = Queue(app.config.get("JOBS_QUEUE", "doorstep"), connection=connection)
        Worker([queue], connection=connection).work(with_scheduler=False)


if __name__ == "__main__":
    main()
