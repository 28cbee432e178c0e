"""Model health in production: live quality from the desk's own records, drift of the
incoming tickets against the bundle's training data, and the shadow challenger."""
