# Reference cases for idpkit's design-based survey estimation engine (issue 4).
#
# Run from the repository root:
#     Rscript tests/reference/survey/make_reference.R
# (install R + survey first with scripts/ensure-r-survey.sh).
#
# It
#   1. generates a deterministic synthetic durable-solutions household survey
#      (tests/fixtures/survey/generated_survey.csv) and a small lonely-PSU file
#      (tests/fixtures/survey/lonely_psu.csv);
#   2. reads both files BACK from the CSV (so R computes on exactly what Python reads);
#   3. computes means, totals, proportions, ratios, domain estimates and domain contrasts
#      with R's `survey` package (Taylor linearisation) for designs D1..D5;
#   4. cross-checks a few numbers by independent routes (subset(), svyglm(), a hand-written
#      linearisation) and stops if they disagree;
#   5. writes tests/fixtures/survey/r_expected.csv and tests/fixtures/survey/designs.yaml.
#
# TRAP: svyby(~y1 + y2, ..., na.rm = TRUE) (and svymean(~y1 + y2, na.rm = TRUE)) drop every row
# that is missing on ANY of the variables. Every indicator below is therefore computed on its own.

suppressPackageStartupMessages(library(survey))

if (!file.exists("pyproject.toml") || !dir.exists("tests/fixtures")) {
  stop("run this script from the repository root")
}
fixdir <- file.path("tests", "fixtures", "survey")
dir.create(fixdir, showWarnings = FALSE, recursive = TRUE)

options(survey.lonely.psu = "fail", survey.adjust.domain.lonely = FALSE,
        survey.ultimate.cluster = FALSE)

# --------------------------------------------------------------------------------------------
# 1. Synthetic data
# --------------------------------------------------------------------------------------------

add_missing <- function(x, rate) {
  x[runif(length(x)) < rate] <- NA
  x
}

gen_households <- function(n, grp, psu_eff) {
  # Indicators for n households of groups grp in a PSU with random effect psu_eff.
  hh_size <- 1L + rpois(n, c(idps = 4.6, returnees = 4.0, non_displaced = 3.6)[grp])
  loginc <- 10.2 + c(idps = -0.45, returnees = -0.2, non_displaced = 0)[grp] +
    0.08 * hh_size + psu_eff + rnorm(n, 0, 0.7)
  income <- round(exp(loginc) / 100, 2)              # skewed, 2 decimals
  pe <- plogis(-0.2 + c(idps = -0.6, returnees = -0.3, non_displaced = 0.3)[grp] + 2 * psu_eff)
  employed <- as.integer(runif(n) < pe)
  pd <- c(idps = 0.62, returnees = 0.78, non_displaced = 0.91)[grp]
  has_documents <- as.integer(runif(n) < pd)
  ph <- rbind(idps = c(0.15, 0.45, 0.40), returnees = c(0.45, 0.30, 0.25),
              non_displaced = c(0.60, 0.30, 0.10))
  housing <- vapply(grp, function(g) sample(c("owned", "rented", "other"), 1, prob = ph[g, ]), "")
  food_score <- round(pmin(112, pmax(0, rnorm(n, 52 + c(idps = -9, returnees = -4,
                                                          non_displaced = 0)[grp] +
                                                 25 * psu_eff, 14))), 1)
  data.frame(income = add_missing(income, 0.05),
             employed = add_missing(employed, 0.08),
             has_documents = add_missing(has_documents, 0.03),
             hh_size = hh_size,
             housing = add_missing(housing, 0.04),
             food_score = add_missing(food_score, 0.06),
             stringsAsFactors = FALSE)
}

gen_main <- function() {
  set.seed(20261124)
  strata <- sprintf("NG008%03d", 1:6)
  n_psu <- c(14L, 12L, 16L, 13L, 15L, 12L)           # sampled PSUs (enumeration areas)
  N_psu <- c(85L, 60L, 120L, 70L, 95L, 48L)          # fpc1: PSUs in the stratum population
  split_area <- c(NG008002 = "NG008007", NG008005 = "NG008008")  # strata holding 2 areas
  rows <- list()
  for (h in seq_along(strata)) {
    s <- strata[h]
    for (i in seq_len(n_psu[h])) {
      area <- if (s %in% names(split_area) && i > n_psu[h] %/% 2) split_area[[s]] else s
      fpc2 <- sample(90:320, 1)                       # households in the PSU population
      m <- sample(22:32, 1)                           # households interviewed
      # IDPs and non-displaced households share PSUs; returnees only in some PSUs.
      p_ret <- if (runif(1) < 0.45) 0.25 else 0
      grp <- sample(c("idps", "returnees", "non_displaced"), m, replace = TRUE,
                    prob = c(0.35, p_ret, 0.65 - p_ret))
      grp[1] <- "idps"; grp[2] <- "non_displaced"    # every PSU has both
      psu_eff <- rnorm(1, 0, 0.25)
      hh <- gen_households(m, grp, psu_eff)
      base_w <- (N_psu[h] / n_psu[h]) * (fpc2 / m)
      adj_psu <- runif(1, 0.95, 1.25)                 # PSU non-response adjustment
      adj_hh <- runif(m, 0.9, 1.1)                    # household-level adjustment (trimmed)
      rows[[length(rows) + 1]] <- data.frame(
        stratum = s, area = area, psu = i, ssu = seq_len(m),
        weight = round(base_w * adj_psu * adj_hh, 4),
        fpc1 = N_psu[h], fpc2 = fpc2, group = grp, hh, stringsAsFactors = FALSE)
    }
  }
  d <- do.call(rbind, rows)
  # Edge case: every household of one PSU refused the income question (the PSU still counts).
  d$income[d$stratum == "NG008001" & d$psu == 3] <- NA
  d <- cbind(hh_id = sprintf("HH%05d", seq_len(nrow(d))), d, stringsAsFactors = FALSE)
  d[, c("hh_id", "stratum", "area", "psu", "ssu", "weight", "fpc1", "fpc2", "group",
        "income", "employed", "has_documents", "hh_size", "housing", "food_score")]
}

gen_lonely <- function(seed) {
  set.seed(seed)
  strata <- sprintf("NG009%03d", 1:4)
  n_psu <- c(3L, 4L, 3L, 1L)                          # NG009004 has a single PSU
  N_psu <- c(30L, 42L, 25L, 12L)
  rows <- list()
  for (h in seq_along(strata)) {
    for (i in seq_len(n_psu[h])) {
      m <- if (n_psu[h] == 1) 8L else sample(5:6, 1)
      fpc2 <- sample(60:150, 1)
      grp <- rep(c("idps", "non_displaced", "returnees"), length.out = m)
      hh <- gen_households(m, grp, rnorm(1, 0, 0.25))
      rows[[length(rows) + 1]] <- data.frame(
        stratum = strata[h], area = strata[h], psu = i, ssu = seq_len(m),
        weight = round((N_psu[h] / n_psu[h]) * (fpc2 / m) * runif(m, 0.9, 1.1), 4),
        fpc1 = N_psu[h], fpc2 = fpc2, group = grp, hh, stringsAsFactors = FALSE)
    }
  }
  d <- do.call(rbind, rows)
  d <- cbind(hh_id = sprintf("LP%03d", seq_len(nrow(d))), d, stringsAsFactors = FALSE)
  d[, c("hh_id", "stratum", "area", "psu", "ssu", "weight", "fpc1", "fpc2", "group",
        "income", "employed", "has_documents", "hh_size", "housing", "food_score")]
}

write_fixture <- function(d, name) {
  write.csv(d, file.path(fixdir, name), row.names = FALSE, na = "", quote = FALSE)
}

read_fixture <- function(name) {
  d <- read.csv(file.path(fixdir, name), na.strings = "", stringsAsFactors = FALSE,
                colClasses = c(hh_id = "character", stratum = "character",
                               area = "character", group = "character",
                               housing = "character"))
  d$housing <- factor(d$housing, levels = c("owned", "rented", "other"))
  d
}

num_vars <- c("income", "employed", "has_documents", "hh_size", "food_score")

# Every area x {idps, non_displaced} domain must have >= 2 non-missing values of every indicator,
# and a non-zero non_displaced mean (denominator of the parity ratio).
domains_ok <- function(d) {
  for (v in c(num_vars, "housing")) {
    for (a in unique(d$area)) for (g in c("idps", "non_displaced")) {
      y <- d[[v]][!is.na(d[[v]]) & d$area == a & d$group == g]
      if (length(y) < 2) return(FALSE)
      if (v != "housing" && g == "non_displaced" && all(y == 0)) return(FALSE)
    }
  }
  TRUE
}

main_gen <- gen_main()
stopifnot(domains_ok(main_gen))
write_fixture(main_gen, "generated_survey.csv")
# the lonely-PSU file is tiny: take the first seed from 20261125 on whose domains are usable
for (lonely_seed in 20261125 + 0:100) {
  lonely_gen <- gen_lonely(lonely_seed)
  if (domains_ok(lonely_gen)) break
}
stopifnot(domains_ok(lonely_gen))
write_fixture(lonely_gen, "lonely_psu.csv")
main <- read_fixture("generated_survey.csv")
lonely <- read_fixture("lonely_psu.csv")
stopifnot(domains_ok(main), domains_ok(lonely))
hous_levels <- levels(main$housing)

# --------------------------------------------------------------------------------------------
# 2. Designs
# --------------------------------------------------------------------------------------------

designs <- list(
  D1 = list(data = "generated_survey", weights = "weight", strata = "stratum", psu = "psu",
            ssu = NULL, fpc = NULL, nest = TRUE, lonely_psu = "fail",
            make = function() svydesign(ids = ~psu, strata = ~stratum, weights = ~weight,
                                        nest = TRUE, data = main)),
  D2 = list(data = "generated_survey", weights = "weight", strata = "stratum", psu = "psu",
            ssu = NULL, fpc = "fpc1", nest = TRUE, lonely_psu = "fail",
            make = function() svydesign(ids = ~psu, strata = ~stratum, weights = ~weight,
                                        fpc = ~fpc1, nest = TRUE, data = main)),
  D3 = list(data = "generated_survey", weights = "weight", strata = "stratum", psu = "psu",
            ssu = "ssu", fpc = c("fpc1", "fpc2"), nest = TRUE, lonely_psu = "fail",
            make = function() svydesign(ids = ~psu + ssu, strata = ~stratum,
                                        fpc = ~fpc1 + fpc2, weights = ~weight,
                                        nest = TRUE, data = main)),
  D4 = list(data = "generated_survey", weights = "weight", strata = "stratum", psu = NULL,
            ssu = NULL, fpc = NULL, nest = FALSE, lonely_psu = "fail",
            make = function() svydesign(ids = ~1, strata = ~stratum, weights = ~weight,
                                        data = main))
)
for (opt in c("remove", "adjust", "certainty", "average")) {
  designs[[paste0("D5_", opt)]] <- list(
    data = "lonely_psu", weights = "weight", strata = "stratum", psu = "psu",
    ssu = NULL, fpc = NULL, nest = TRUE, lonely_psu = opt,
    make = function() svydesign(ids = ~psu, strata = ~stratum, weights = ~weight,
                                nest = TRUE, data = lonely))
}
deff_designs <- c("D1", "D2")

# --------------------------------------------------------------------------------------------
# 3. Estimates
# --------------------------------------------------------------------------------------------

results <- list()
add <- function(design, data, statistic, variable, level = "", denominator = "", by = "",
                domain = "", estimate, se, deff = NA_real_) {
  n <- length(estimate)
  results[[length(results) + 1]] <<- data.frame(
    design = design, data = data, statistic = statistic, variable = variable,
    level = level, denominator = denominator, by = by, domain = domain,
    estimate = as.numeric(estimate), se = as.numeric(se),
    deff = if (length(deff) == n) as.numeric(deff) else rep(NA_real_, n),
    stringsAsFactors = FALSE)
}
se_of <- function(x) sqrt(diag(as.matrix(vcov(x))))
fml <- function(v) as.formula(paste0("~", v))

# Domain estimates. svyby(..., na.rm = TRUE, covmat = TRUE) fails in survey 4.1-1 when a
# domain holds missing values (svymean drops the NA rows of the domain subset, so its influence
# matrix is shorter than the domain index). Equivalent route used here: make the domain
# variables NA on the rows where the indicator is missing; svyby then leaves those rows out of
# every domain (exactly what na.rm = TRUE does). With covmat = TRUE the variance-covariance of
# all domain estimates is computed ONCE over the FULL design from the domain influence functions
# (zero outside the domain). Every domain `se` written is sqrt(diag(vcov(svyby result))).
# It is compared below with svyby's own per-domain SE (the plain na.rm = TRUE route, which is
# what subset() gives): they agree except where noted (`se_route_diffs`).
mask_domains <- function(des, vars) {
  miss <- Reduce(`|`, lapply(vars, function(v) is.na(des$variables[[v]])))
  des$variables$area[miss] <- NA
  des$variables$group[miss] <- NA
  des
}
se_route_diffs <- data.frame()

run_design <- function(dn, spec) {
  options(survey.lonely.psu = spec$lonely_psu)
  des <- spec$make()
  dat <- spec$data
  wd <- dn %in% deff_designs
  dom_ag <- function(b) paste(b$area, b$group, sep = "|")

  # ---- whole sample
  for (v in num_vars) {
    m <- svymean(fml(v), des, na.rm = TRUE, deff = wd)
    add(dn, dat, "mean", v, estimate = coef(m), se = se_of(m),
        deff = if (wd) deff(m) else NA)
    t <- svytotal(fml(v), des, na.rm = TRUE)
    add(dn, dat, "total", v, estimate = coef(t), se = se_of(t))
  }
  p <- svymean(~housing, des, na.rm = TRUE, deff = wd)
  nm <- paste0("housing", hous_levels)
  add(dn, dat, "proportion", "housing", level = hous_levels, estimate = coef(p)[nm],
      se = se_of(p)[nm], deff = if (wd) deff(p)[nm] else NA)
  r <- svyratio(~income, ~hh_size, des, na.rm = TRUE)
  add(dn, dat, "ratio", "income", denominator = "hh_size", estimate = coef(r), se = se_of(r))

  # ---- domains
  bys <- list(group = "group", area = "area", "area+group" = c("area", "group"))
  byres <- list()
  for (bn in names(bys)) {
    byf <- as.formula(paste0("~", paste(bys[[bn]], collapse = "+")))
    lab <- function(b) if (bn == "area+group") dom_ag(b) else as.character(b[[bn]])
    # one domain statistic: full-design route + comparison with the plain na.rm route
    dstat <- function(statistic, v, FUN, mvars, deff_ok, ...) {
      b <- svyby(fml(v), byf, mask_domains(des, mvars), FUN, covmat = TRUE,
                 deff = deff_ok && wd, ...)
      b0 <- svyby(fml(v), byf, des, FUN, na.rm = TRUE, deff = deff_ok && wd, ...)
      stopifnot(identical(lab(b0), lab(b)), max(abs(coef(b0) - coef(b))) < 1e-9)
      nms <- names(coef(b))
      se_full <- se_of(b)
      se_plain <- setNames(as.vector(as.matrix(SE(b0))), nms)
      rel <- abs(se_full - se_plain) / pmax(abs(se_full), 1e-300)
      bad <- is.na(rel) | rel > 1e-9
      if (any(bad)) {
        se_route_diffs <<- rbind(se_route_diffs, data.frame(
          design = dn, statistic = statistic, variable = v, by = bn, coef = nms[bad],
          se_full_design = se_full[bad], se_svyby_subset = se_plain[bad],
          stringsAsFactors = FALSE))
      }
      b
    }
    for (v in num_vars) {
      b <- dstat("mean", v, svymean, v, TRUE)
      add(dn, dat, "mean", v, by = bn, domain = lab(b), estimate = coef(b), se = se_of(b),
          deff = if (wd) deff(b) else NA)
      byres[[paste(bn, v)]] <- b
      t <- dstat("total", v, svytotal, v, FALSE)
      add(dn, dat, "total", v, by = bn, domain = lab(t), estimate = coef(t), se = se_of(t))
    }
    b <- dstat("proportion", "housing", svymean, "housing", TRUE)
    byres[[paste(bn, "housing")]] <- b
    for (L in hous_levels) {
      nm <- paste0(rownames(b), ":housing", L)
      add(dn, dat, "proportion", "housing", level = L, by = bn, domain = lab(b),
          estimate = coef(b)[nm], se = se_of(b)[nm],
          deff = if (wd) deff(b)[, paste0("DEff.housing", L)] else NA)
    }
    b <- dstat("ratio", "income", svyratio, c("income", "hh_size"), FALSE,
               denominator = ~hh_size)
    add(dn, dat, "ratio", "income", denominator = "hh_size", by = bn, domain = lab(b),
        estimate = coef(b), se = se_of(b))
  }

  # ---- contrasts idps - non_displaced (difference) and idps / non_displaced (parity ratio)
  contrast_rows <- function(b, n1, n2, stat_diff, stat_ratio, variable, level, bn, domlab,
                            ratio = TRUE) {
    if (!all(c(n1, n2) %in% names(coef(b)))) return(invisible())
    cd <- svycontrast(b, setNames(c(1, -1), c(n1, n2)))
    add(dn, dat, stat_diff, variable, level = level, by = bn, domain = domlab,
        estimate = coef(cd), se = se_of(cd))
    if (ratio) {
      cr <- svycontrast(b, substitute(A / B, list(A = as.name(n1), B = as.name(n2))))
      add(dn, dat, stat_ratio, variable, level = level, by = bn, domain = domlab,
          estimate = coef(cr), se = se_of(cr))
    }
  }
  areas <- sort(unique(des$variables$area))
  for (v in num_vars) {
    contrast_rows(byres[[paste("group", v)]], "idps", "non_displaced", "diff_mean",
                  "parity_ratio", v, "", "group", "idps-non_displaced")
    for (a in areas) {
      contrast_rows(byres[[paste("area+group", v)]], paste0(a, ".idps"),
                    paste0(a, ".non_displaced"), "diff_mean", "parity_ratio", v, "",
                    "area+group", paste0(a, "|idps-non_displaced"))
    }
  }
  for (L in hous_levels) {
    contrast_rows(byres[["group housing"]], paste0("idps:housing", L),
                  paste0("non_displaced:housing", L), "diff_proportion", NA, "housing", L,
                  "group", "idps-non_displaced", ratio = FALSE)
    for (a in areas) {
      contrast_rows(byres[["area+group housing"]], paste0(a, ".idps:housing", L),
                    paste0(a, ".non_displaced:housing", L), "diff_proportion", NA,
                    "housing", L, "area+group", paste0(a, "|idps-non_displaced"),
                    ratio = FALSE)
    }
  }
  options(survey.lonely.psu = "fail")
  invisible(des)
}

for (dn in names(designs)) run_design(dn, designs[[dn]])
res <- do.call(rbind, results)
if (!all(is.finite(res$estimate)) || !all(is.finite(res$se))) { print(res[!is.finite(res$estimate) | !is.finite(res$se), ]); stop("non-finite") }

# --------------------------------------------------------------------------------------------
# 4. Independent cross-checks (stop on disagreement)
# --------------------------------------------------------------------------------------------

lookup <- function(design, statistic, variable, by = "", domain = "", level = "") {
  r <- res[res$design == design & res$statistic == statistic & res$variable == variable &
             res$by == by & res$domain == domain & res$level == level, ]
  stopifnot(nrow(r) == 1)
  r
}
close <- function(a, b, tol = 1e-10) {
  ok <- abs(a - b) <= tol * max(1, abs(b))
  if (!ok) stop(sprintf("cross-check failed: %.17g vs %.17g", a, b))
  invisible(TRUE)
}
nchecks <- 0L
chk <- function(a, b, tol = 1e-10) { close(a, b, tol); nchecks <<- nchecks + 1L }

# (a) svyby domain vs svymean on subset() of the design (domain-correct in R)
for (dn in c("D1", "D2", "D3", "D4")) {
  des <- designs[[dn]]$make()
  for (v in c("income", "employed")) {
    s <- svymean(fml(v), subset(des, area == "NG008007" & group == "idps"), na.rm = TRUE)
    r <- lookup(dn, "mean", v, "area+group", "NG008007|idps")
    chk(r$estimate, coef(s)); chk(r$se, se_of(s))
  }
}

# (b) difference of domain means vs svyglm(y ~ group) fitted on subset(area == a)
des <- designs$D2$make()
sub <- subset(des, area == "NG008002" & group %in% c("idps", "non_displaced"))
fit <- svyglm(food_score ~ I(group == "idps"), design = sub)
r <- lookup("D2", "diff_mean", "food_score", "area+group", "NG008002|idps-non_displaced")
chk(r$estimate, coef(fit)[2], 1e-9); chk(r$se, sqrt(vcov(fit)[2, 2]), 1e-7)

# (c) hand-written linearisation (documents the exact variance formulas used by survey 4.1-1)
stage_var <- function(z, strata, psu, N = NULL, lonely = "fail") {
  # Stratified with-replacement / without-replacement variance of a total of scores z.
  idx <- split(seq_along(z), strata)
  contrib <- vapply(idx, function(ix) {
    zt <- tapply(z[ix], psu[ix], sum)
    n <- length(zt)
    f <- if (is.null(N)) 1 else 1 - n / N[ix][1]
    if (n > 1) return(f * n / (n - 1) * sum((zt - mean(zt))^2))
    switch(lonely, remove = 0, certainty = 0, adjust = f * zt[[1]]^2, average = NA_real_,
           stop("lonely PSU"))
  }, 0)
  sum(contrib, na.rm = TRUE) * length(contrib) / sum(!is.na(contrib))
}
mean_score <- function(y, w, dom) {
  keep <- dom & !is.na(y)
  ybar <- sum(w[keep] * y[keep]) / sum(w[keep])
  ifelse(keep, w * (y - ybar) / sum(w[keep]), 0)
}
d <- main
dom <- d$area == "NG008005" & d$group == "idps"
z <- mean_score(d$income, d$weight, dom)
psu_id <- paste(d$stratum, d$psu)
chk(lookup("D1", "mean", "income", "area+group", "NG008005|idps")$se,
    sqrt(stage_var(z, d$stratum, psu_id)))
chk(lookup("D2", "mean", "income", "area+group", "NG008005|idps")$se,
    sqrt(stage_var(z, d$stratum, psu_id, N = d$fpc1)))
chk(lookup("D4", "mean", "income", "area+group", "NG008005|idps")$se,
    sqrt(stage_var(z, d$stratum, seq_len(nrow(d)))))
# two-stage: stage 1 with f1 = 1 - n_h/N_h, plus sum over PSUs of (n_h/N_h) * stage-2 variance
v1 <- stage_var(z, d$stratum, psu_id, N = d$fpc1)
nh <- ave(as.numeric(factor(psu_id)), d$stratum, FUN = function(x) length(unique(x)))
v2 <- sum(vapply(split(seq_len(nrow(d)), psu_id), function(ix) {
  (nh[ix][1] / d$fpc1[ix][1]) * stage_var(z[ix], rep(1, length(ix)), d$ssu[ix], N = d$fpc2[ix])
}, 0))
chk(lookup("D3", "mean", "income", "area+group", "NG008005|idps")$se, sqrt(v1 + v2))
# total in a domain: score w*y (not centred)
zt <- ifelse(dom & !is.na(d$income), d$weight * d$income, 0)
chk(lookup("D1", "total", "income", "area+group", "NG008005|idps")$se,
    sqrt(stage_var(zt, d$stratum, psu_id)))
# ratio: score w*(y - R x)/sum(w x) over rows with both present
keep <- !is.na(d$income) & !is.na(d$hh_size)
R <- sum(d$weight[keep] * d$income[keep]) / sum(d$weight[keep] * d$hh_size[keep])
zr <- ifelse(keep, d$weight * (d$income - R * d$hh_size) /
                     sum(d$weight[keep] * d$hh_size[keep]), 0)
chk(lookup("D2", "ratio", "income")$estimate, R)
chk(lookup("D2", "ratio", "income")$se, sqrt(stage_var(zr, d$stratum, psu_id, N = d$fpc1)))
# deff (D1 whole-sample mean): v / [ s2 * (1 - n/N^) / n ], s2 = n/(n-1) * sum w (y-ybar)^2 / sum w
keep <- !is.na(d$food_score)
y <- d$food_score[keep]; w <- d$weight[keep]; n <- length(y); Nh <- sum(w)
ybar <- sum(w * y) / Nh
s2 <- n / (n - 1) * sum(w * (y - ybar)^2) / Nh
r <- lookup("D1", "mean", "food_score")
chk(r$deff, r$se^2 / (s2 * (Nh - n) / (Nh * n)), 1e-9)
# lonely PSU options on the lonely file: whole-sample mean and total, and a domain mean
d <- lonely
psu_id <- paste(d$stratum, d$psu)
for (opt in c("remove", "adjust", "certainty", "average")) {
  dn <- paste0("D5_", opt)
  z <- mean_score(d$food_score, d$weight, rep(TRUE, nrow(d)))
  chk(lookup(dn, "mean", "food_score")$se, sqrt(stage_var(z, d$stratum, psu_id, lonely = opt)))
  zt <- ifelse(is.na(d$income), 0, d$weight * d$income)
  chk(lookup(dn, "total", "income")$se, sqrt(stage_var(zt, d$stratum, psu_id, lonely = opt)))
  z <- mean_score(d$employed, d$weight, d$group == "idps")
  chk(lookup(dn, "mean", "employed", "group", "idps")$se,
      sqrt(stage_var(z, d$stratum, psu_id, lonely = opt)))
}
cat("cross-checks passed:", nchecks, "\n")
cat("domain SEs where the full-design route differs from svyby's per-domain (subset) SE:",
    nrow(se_route_diffs), "\n")
if (nrow(se_route_diffs)) {
  se_route_diffs$ratio <- se_route_diffs$se_svyby_subset / se_route_diffs$se_full_design
  print(aggregate(ratio ~ design + by, se_route_diffs, function(r) range(r, na.rm = TRUE)))
  cat("of which svyby's per-domain SE is NaN:", sum(is.na(se_route_diffs$se_svyby_subset)), "\n")
  stopifnot(all(se_route_diffs$design == "D5_average"))
}

# --------------------------------------------------------------------------------------------
# 5. Output
# --------------------------------------------------------------------------------------------

# Rounding noise: under lonely.psu = "adjust" a domain lying wholly inside the single PSU of
# NG009004 has an exactly-zero linearised variance (its scores sum to 0 in that PSU), but R
# returns 1e-17..1e-13. Such SEs (below 1e-12 x |estimate|) are written as exact 0.
noise <- res$se != 0 & res$se < 1e-12 * abs(res$estimate)
cat("SEs written as 0 (rounding noise):", sum(noise), "in designs",
    paste(unique(res$design[noise]), collapse = ", "), "\n")
stopifnot(all(res$design[noise] == "D5_adjust"))
res$se[noise] <- 0

res$case <- with(res, paste0(
  design, "/", statistic, "/", variable,
  ifelse(level != "", paste0("[", level, "]"), ""),
  ifelse(denominator != "", paste0("/", denominator), ""),
  ifelse(by != "", paste0("@", by, "=", domain), "")))
stopifnot(!anyDuplicated(res$case))
num17 <- function(x) ifelse(is.na(x), "", sprintf("%.17g", x))
out <- data.frame(case = res$case, design = res$design, data = res$data,
                  statistic = res$statistic, variable = res$variable, level = res$level,
                  denominator = res$denominator, by = res$by, domain = res$domain,
                  estimate = num17(res$estimate), se = num17(res$se), deff = num17(res$deff),
                  stringsAsFactors = FALSE)
write.csv(out, file.path(fixdir, "r_expected.csv"), row.names = FALSE, quote = FALSE, na = "")

yaml_val <- function(x) {
  if (is.null(x)) return("null")
  if (is.logical(x)) return(tolower(as.character(x)))
  if (length(x) > 1) return(paste0("[", paste(x, collapse = ", "), "]"))
  x
}
lines <- c("# Survey designs of tests/fixtures/survey/r_expected.csv.",
           "# Written by tests/reference/survey/make_reference.R; keep in step with it.",
           "# psu: stage-1 cluster column (null = element sampling, each row its own PSU)",
           "# ssu: stage-2 unit column (two-stage designs only)",
           "# fpc: population-size column per stage (null = with replacement)",
           "# lonely_psu: value of options(survey.lonely.psu) when R computed the case")
for (dn in names(designs)) {
  s <- designs[[dn]]
  lines <- c(lines, paste0(dn, ":"),
             paste0("  data: ", s$data, ".csv"),
             paste0("  weights: ", yaml_val(s$weights)),
             paste0("  strata: ", yaml_val(s$strata)),
             paste0("  psu: ", yaml_val(s$psu)),
             paste0("  ssu: ", yaml_val(s$ssu)),
             paste0("  fpc: ", if (is.null(s$fpc)) "null" else
                                 paste0("[", paste(s$fpc, collapse = ", "), "]")),
             paste0("  nest: ", yaml_val(s$nest)),
             paste0("  lonely_psu: ", s$lonely_psu))
}
writeLines(lines, file.path(fixdir, "designs.yaml"))

cat("rows:", nrow(main), "(generated_survey),", nrow(lonely), "(lonely_psu)\n")
print(table(out$statistic))
cat(R.version.string, "; survey", as.character(packageVersion("survey")), "\n")
