"""Services: the use cases behind the routes. Each checks permissions, calls repositories,
writes the audit entry in the same transaction as the change, and commits before the
route answers."""
