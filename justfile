# Bare `just` runs the tests and the linters, as CI does.
default: test lint

# Install backworks with its development tools.
install:
    python3 -m pip install -e ".[dev]"

# The test suite (real sockets on 127.0.0.1, real mitmproxy, real SQLite).
test *ARGS:
    python3 -m pytest {{ARGS}}

# ruff: lint and formatting check.
lint:
    ruff check backworks_cli tests bench
    ruff format --check backworks_cli tests bench

# Format the code in place.
fmt:
    ruff format backworks_cli tests bench
    ruff check --fix backworks_cli tests bench

# Mutation testing (mutmut) of the named functions, e.g. just mutate "backworks_cli.record.detectors*",
# against the tests listed under [tool.mutmut]; prints the mutants that survived (none: all killed).
mutate +NAMES:
    python3 -m mutmut run {{NAMES}}
    python3 -m mutmut results

# Benchmarks; results are printed and written under bench/results/.
bench *ARGS:
    python3 bench/run.py {{ARGS}}
