"""Product-usage events: the durable inbox and its move to the warehouse."""
