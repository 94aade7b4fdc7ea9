pub mod inventory;
pub mod run;
