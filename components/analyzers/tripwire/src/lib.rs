//! The built-in `tripwire` analyzer: [`frameflow_analysis::Tripwire`] as a
//! `frameflow:analyzer` component. Pure: it calls nothing it imports.

frameflow_analysis::export_analyzer!(Tripwire);
