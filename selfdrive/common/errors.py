"""Errors a user can act on: the CLI prints their message, never a stack trace."""


class UserError(Exception):
  pass
