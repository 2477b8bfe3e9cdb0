"""gocore-dap: open Go core dumps in any DAP editor through Delve."""

__version__ = "0.1.0"

# The Delve release the project pins and installs into its own tools folder.
DELVE_VERSION = "v1.27.2"
