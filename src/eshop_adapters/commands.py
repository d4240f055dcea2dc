"""Command-line subcommands that need adapters."""
