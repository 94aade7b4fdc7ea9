//! fleet-inventory
