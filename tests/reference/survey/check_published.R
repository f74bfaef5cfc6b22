# Re-computes the published reference numbers of shared/survey-reference/EXPECTED.md (R survey
# package documentation / tests/api.Rout.save) from the CSV copies in tests/fixtures/survey/api/.
# Run from the repository root:  Rscript tests/reference/survey/check_published.R
# Stops with an error if a number does not match EXPECTED.md at the printed precision.
suppressPackageStartupMessages(library(survey))
dir <- file.path("tests", "fixtures", "survey", "api")
rd <- function(f) read.csv(file.path(dir, f), na.strings = c("", "NA"), stringsAsFactors = TRUE)
apistrat <- rd("apistrat.csv"); apiclus1 <- rd("apiclus1.csv"); apiclus2 <- rd("apiclus2.csv")
fpc <- rd("fpc.csv")

n <- 0L
ok <- function(label, got, want, digits) {
  # equal when rounded to `digits` significant digits (as printed in EXPECTED.md)
  g <- signif(as.numeric(got), digits); w <- signif(want, digits)
  status <- if (all(abs(g - w) <= 1e-12 * abs(w))) "ok" else "MISMATCH"
  cat(sprintf("%-8s %-55s got %s  want %s\n", status, label,
              paste(format(as.numeric(got), digits = 10), collapse = " / "),
              paste(want, collapse = " / ")))
  if (status != "ok") stop("mismatch: ", label)
  n <<- n + 1L
}
se <- function(x) sqrt(diag(as.matrix(vcov(x))))

dstrat <- svydesign(id = ~1, strata = ~stype, weights = ~pw, data = apistrat, fpc = ~fpc)
m <- svymean(~api00, dstrat); ok("apistrat mean api00", coef(m), 662.29, 5); ok("  SE", se(m), 9.4089, 5)
t <- svytotal(~enroll, dstrat); ok("apistrat total enroll", coef(t), 3687178, 7); ok("  SE", se(t), 114642, 6)

dclus1 <- svydesign(id = ~dnum, weights = ~pw, data = apiclus1, fpc = ~fpc)
m <- svymean(~api00, dclus1); ok("apiclus1 mean api00", coef(m), 644.17, 5); ok("  SE", se(m), 23.542, 5)
t <- svytotal(~enroll, dclus1); ok("apiclus1 total enroll", coef(t), 3404940, 7); ok("  SE", se(t), 932235, 6)
t <- svytotal(~stype, dclus1)
ok("apiclus1 total stype E/H/M", coef(t), c(4873.97, 473.86, 846.17), c(6, 5, 5))
ok("  SE", se(t), c(1333.32, 158.70, 167.55), c(6, 5, 5))
r <- svyratio(~api.stu, ~enroll, dclus1)
ok("apiclus1 ratio api.stu/enroll", coef(r), 0.8497087, 7); ok("  SE", se(r), 0.008386297, 7)
r <- svyratio(~api.stu, ~enroll, subset(dclus1, stype == "H"))
ok("apiclus1 ratio api.stu/enroll, stype H", coef(r), 0.8300683, 7); ok("  SE", se(r), 0.01472607, 7)
b <- svyby(~ell, ~stype, dclus1, svymean)
ok("apiclus1 mean ell by stype", coef(b), c(29.69444, 15.00000, 22.68000), 7)
ok("  SE", SE(b), c(1.411617, 5.347065, 2.952862), 7)
b <- svyby(~meals, ~stype, dclus1, svymean)
ok("apiclus1 mean meals by stype", coef(b), c(53.09028, 37.57143, 43.08000), 7)
ok("  SE", SE(b), c(7.070399, 5.912262, 6.017110), 7)

dclus2 <- svydesign(id = ~dnum + snum, fpc = ~fpc1 + fpc2, data = apiclus2)
m <- svymean(~api00, dclus2); ok("apiclus2 (fpc) mean api00", coef(m), 670.81, 5); ok("  SE", se(m), 30.099, 5)
t <- svytotal(~enroll, dclus2, na.rm = TRUE)
ok("apiclus2 (fpc) total enroll", coef(t), 2639273, 7); ok("  SE", se(t), 799638, 6)
dclus2wr <- svydesign(id = ~dnum + snum, weights = ~pw, data = apiclus2)
m <- svymean(~api00, dclus2wr); ok("apiclus2 (wr) mean api00", coef(m), 670.81, 5); ok("  SE", se(m), 30.712, 5)
t <- svytotal(~enroll, dclus2wr, na.rm = TRUE)
ok("apiclus2 (wr) total enroll", coef(t), 2639273, 7); ok("  SE", se(t), 820261, 6)

dfpc0 <- svydesign(id = ~psuid, strata = ~stratid, weights = ~weight, nest = TRUE, data = fpc)
b <- svyby(~x, ~I(x > 4), dfpc0, svymean)
ok("fpc mean x by I(x>4)", coef(b), c(3.314286, 6.195000), 7)
ok("  SE", SE(b), c(0.3117042, 0.7555129), 7)
dfpc <- svydesign(id = ~psuid, strata = ~stratid, weights = ~weight, nest = TRUE, data = fpc,
                  fpc = ~Nh)
b <- svyby(~x, ~I(x > 4), dfpc, svymean)
ok("fpc (fpc=Nh) mean x by I(x>4)", coef(b), c(3.314286, 6.195000), 7)
ok("  SE", SE(b), c(0.2623382, 0.6301110), 7)
cat(n, "published numbers reproduced\n")
