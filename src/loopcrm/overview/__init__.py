"""Views across domains: the customer 360 bundle. Later domains (tickets, surveys, value) add to it."""
