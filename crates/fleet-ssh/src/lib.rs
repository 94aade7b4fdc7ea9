//! fleet-ssh
