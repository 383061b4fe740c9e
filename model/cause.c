#include "model/cause.h"

#include <string.h>

#define X_NAME(id, name) name,
static const char *const verdict_names[] = {MODEL_VERDICTS(X_NAME)};
static const char *const stage_names[] = {MODEL_STAGES(X_NAME)};
#undef X_NAME

static const struct {
    const char *name, *group, *text;
    bool root_only;
} causes[] = {
#define X_CAUSE(id, g, r, t) {#id, g, t, r},
    MODEL_CAUSES(X_CAUSE)
#undef X_CAUSE
};

const char *model_verdict_name(ModelVerdict v)
{
    return v < MODEL_VERDICT_COUNT ? verdict_names[v] : "?";
}

const char *model_stage_name(ModelStage s)
{
    return s < MODEL_STAGE_COUNT ? stage_names[s] : "?";
}

const char *model_cause_name(ModelCause c)
{
    if (c == MODEL_CAUSE_NONE)
        return "";
    return c < MODEL_CAUSE_COUNT ? causes[c].name : "?";
}

const char *model_cause_group(ModelCause c)
{
    return c < MODEL_CAUSE_COUNT ? causes[c].group : "?";
}

const char *model_cause_text(ModelCause c)
{
    return c < MODEL_CAUSE_COUNT ? causes[c].text : "?";
}

bool model_cause_is_root_only(ModelCause c)
{
    return c < MODEL_CAUSE_COUNT && causes[c].root_only;
}

bool model_cause_from_name(const char *name, ModelCause *out)
{
    for (int c = MODEL_CAUSE_NONE + 1; c < MODEL_CAUSE_COUNT; c++) {
        if (strcmp(causes[c].name, name) == 0) {
            *out = (ModelCause)c;
            return true;
        }
    }
    return false;
}

bool model_verdict_from_name(const char *name, ModelVerdict *out)
{
    for (int v = 0; v < MODEL_VERDICT_COUNT; v++) {
        if (strcmp(verdict_names[v], name) == 0) {
            *out = (ModelVerdict)v;
            return true;
        }
    }
    return false;
}
