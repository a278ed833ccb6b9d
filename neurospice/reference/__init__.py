"""Reference (scipy) integrations of the models the netlists implement."""
