//! The built-in `area_intrusion` analyzer: [`frameflow_analysis::AreaIntrusion`] as a
//! `frameflow:analyzer` component. Pure: it calls nothing it imports.

frameflow_analysis::export_analyzer!(AreaIntrusion);
