"""HTTP routes, one module per area; each turns HTTP into a service call and back."""
