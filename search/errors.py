"""Every error newsfind raises on purpose, in one tree (as httpx's ``_exceptions``)::

    NewsfindError
    ├── RequestError      a request parameter is invalid: ``.param`` names it (HTTP 400)
    │   └── QueryTooLong  the query text is over ``MAX_QUERY_CHARS`` (HTTP 414/400)
    ├── NotFound          no (visible) article with that id (HTTP 404)
    ├── IndexUnavailable  no index has been built yet, or it cannot be opened (HTTP 503)
    ├── ReindexError      reindex could not run; nothing was changed (exit 1)
    │   └── LockTimeout   another reindex held the lock past the timeout (exit 75)
    └── ModelUnavailable  the embedding model is not installed, or a file of it is not the
                          pinned one: the message names the file or package and the command
                          that fixes it (exit 1; the server refuses to start)

An article file that cannot be read is not an error of this tree: it is ``articles.ArticleError``,
reported as a rejected file while the run goes on.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_REJECTED = 3
EXIT_LOCKED = 75


class NewsfindError(Exception):
    """Base of every error newsfind raises on purpose."""


class RequestError(NewsfindError, ValueError):
    def __init__(self, param: str, message: str) -> None:
        self.param = param
        self.message = message
        super().__init__(f"{param}: {message}")


class QueryTooLong(RequestError):
    pass


class NotFound(NewsfindError, LookupError):
    def __init__(self, article_id: str) -> None:
        self.article_id = article_id
        super().__init__(f"no article with id {article_id!r}")


class IndexUnavailable(NewsfindError):
    pass


class ReindexError(NewsfindError):
    """A fatal problem: nothing was changed (missing seeds folder, unwritable index...)."""

    exit_code = EXIT_FATAL


class LockTimeout(ReindexError):
    exit_code = EXIT_LOCKED


class ModelUnavailable(NewsfindError):
    """The embedding model (``search.embedding``) cannot be used as pinned; nothing was changed."""

    exit_code = EXIT_FATAL
