//! Integration tests and examples of the eventosaurus workspace.
