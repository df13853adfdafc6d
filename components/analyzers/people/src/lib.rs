//! The built-in `people` analyzer: [`frameflow_analysis::People`] as a
//! `frameflow:analyzer` component. Pure: it calls nothing it imports.

frameflow_analysis::export_analyzer!(People);
