// The d3 functions the dashboard uses; esbuild tree-shakes the rest away (build.mjs).
export {select} from "d3-selection";
export {geoPath, geoMercator} from "d3-geo";
export {scaleThreshold, scaleLinear, scalePoint} from "d3-scale";
export {schemeYlOrRd} from "d3-scale-chromatic";
export {max, quantile, ascending} from "d3-array";
