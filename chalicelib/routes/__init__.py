"""One blueprint per resource. A route reads its input, names the user,
calls one storage function and returns a response model."""
