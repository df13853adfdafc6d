//! The built-in `face` analyzer: [`frameflow_analysis::Faces`] as a
//! `frameflow:analyzer` component. Pure: it calls nothing it imports.

frameflow_analysis::export_analyzer!(Faces);
