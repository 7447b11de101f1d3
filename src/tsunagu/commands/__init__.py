"""CLI commands, one module per verb; each parses, delegates to a package and reports."""
