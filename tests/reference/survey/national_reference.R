# Reference numbers for IRIS' national comparison: IDPs (of the survey, or of one area) minus all
# households of the survey, and their ratio, with SEs from the joint linearisation of four totals
# (svycontrast, delta method). Run from the repository root:
#   Rscript tests/reference/survey/national_reference.R > tests/fixtures/survey/r_expected_national.txt
# Domain style as na.rm=TRUE: rows missing income leave both domains, the design keeps them.
library(survey)
full <- read.csv("tests/fixtures/survey/generated_survey.csv", colClasses=c(stratum="character", area="character"))
full$ok <- !is.na(full$income)
full$y <- ifelse(full$ok, full$income, 0)
full$one <- ifelse(full$ok, 1, 0)
for (des in c("D2","D3")) {
  if (des=="D2") ds <- svydesign(ids=~psu, strata=~stratum, weights=~weight, fpc=~fpc1, nest=TRUE, data=full)
  else ds <- svydesign(ids=~psu+ssu, strata=~stratum, weights=~weight, fpc=~fpc1+fpc2, nest=TRUE, data=full)
  for (a in c("ALL", "NG008001", "NG008003")) {
    full$f <- full$ok & full$group=="idps" & (a=="ALL" | full$area==a)
    ds <- update(ds, fy = ifelse(full$f, full$income, 0), fo = ifelse(full$f, 1, 0))
    t <- svytotal(~fy+fo+y+one, ds)
    dc <- svycontrast(t, quote(fy/fo - y/one))
    pr <- svycontrast(t, quote((fy/fo)/(y/one)))
    cat(des, a, sprintf("%.17g %.17g %.17g %.17g\n", coef(dc), SE(dc), coef(pr), SE(pr)))
  }
}
