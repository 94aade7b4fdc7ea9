pub mod apply;
pub mod inventory;
pub mod run;
