"""Check the hash chain of billing's final documents:
``python -m services.billing.verify [DATABASE_URL]``. Rebuilds each final
document from its rows, recomputes its chained SHA-256 and names the first
document whose content, or place in the chain, was altered. Exit status 0
when the chain is intact, 1 otherwise."""
import sys

from sqlalchemy.orm import Session

from common import config
from common.db import make_engine
from services.billing import chain, issuing


def verify(session):
    """(documents checked, the first broken link or None)."""
    links = list(issuing.chain_links(session))
    return len(links), chain.first_broken_link(links)


def main(argv):
    url = config.psycopg2_url(argv[1]) if len(argv) > 1 else config.database_url("billing")
    engine = make_engine(url)
    with Session(engine) as session:
        checked, broken = verify(session)
    engine.dispose()
    if broken is None:
        print(f"chain intact: {checked} final documents")
        return 0
    print(f"chain broken at {broken.number}: its content or its place in the chain was altered")
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
