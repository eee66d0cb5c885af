"""Extra `foi` command groups, one module per feature, each with `register(cli: click.Group)`."""

COMMAND_MODULES = ("models", "entities", "mail", "accounts", "alerts", "redactions", "cluster")
