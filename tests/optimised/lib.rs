//! End-to-end scenarios that need the optimiser (its exact replication plans); the link
//! scenarios that do not are in the light `lrmp-tests` package beside this one.
