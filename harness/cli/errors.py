class UserError(Exception):
    """Something the user can fix; printed as one line, exit code 2."""
