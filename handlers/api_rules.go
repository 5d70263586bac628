package handlers

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/peregrine-scoring/peregrine/domain/ingest"
	"github.com/peregrine-scoring/peregrine/domain/model"
	"github.com/peregrine-scoring/peregrine/domain/scoring"
	"github.com/peregrine-scoring/peregrine/domain/store"
)

// APIRule is a stored rule: its id and version, and the rule as the export writes it.
type APIRule struct {
	ID        int64           `json:"id"`
	Version   int             `json:"version"`
	UpdatedAt time.Time       `json:"updated_at"`
	Rule      json.RawMessage `json:"rule"`
}

func apiRule(r model.StoredRule) APIRule {
	return APIRule{ID: r.ID, Version: r.Version, UpdatedAt: r.UpdatedAt, Rule: r.Definition}
}

// ruleProblems answers a rule that does not validate: 422 with each problem's path (under
// /rule) and the builder's message.
func ruleProblems(c echo.Context, err error) error {
	var probs []ingest.Problem
	for _, p := range problemsOf(err) {
		path := "/" + strings.NewReplacer(".", "/", "[", "/", "]", "").Replace(p.Path)
		probs = append(probs, ingest.Problem{Path: strings.TrimSuffix(path, "/"), Message: p.Message})
	}
	return problem(c, http.StatusUnprocessableEntity, "The rule is not valid; nothing was saved.", probs...)
}

// ListRules is GET /api/v1/rules: every rule in the order they apply.
func (a *API) ListRules(c echo.Context) error {
	stored, err := a.Handlers.Store.ListRules(c.Request().Context(), TokenOf(c).WorkspaceID)
	if err != nil {
		return err
	}
	out := struct {
		Data []APIRule `json:"data"`
	}{Data: []APIRule{}}
	for _, r := range stored {
		out.Data = append(out.Data, apiRule(r))
	}
	return c.JSON(http.StatusOK, out)
}

// GetRule is GET /api/v1/rules/{id}; its ETag is the rule's version (for If-Match on PUT).
func (a *API) GetRule(c echo.Context) error {
	r, ok, err := a.storedRule(c)
	if !ok {
		return err
	}
	c.Response().Header().Set("ETag", `"`+strconv.Itoa(r.Version)+`"`)
	return c.JSON(http.StatusOK, apiRule(r))
}

// storedRule reads the rule of the path; ok false means the request was answered (404).
func (a *API) storedRule(c echo.Context) (model.StoredRule, bool, error) {
	id, err := strconv.ParseInt(c.Param("id"), 10, 64)
	if err != nil {
		return model.StoredRule{}, false, problem(c, http.StatusNotFound, "There is no such rule.")
	}
	r, err := a.Handlers.Store.RuleByID(c.Request().Context(), TokenOf(c).WorkspaceID, id)
	if errors.Is(err, store.ErrNotFound) {
		return r, false, problem(c, http.StatusNotFound, "There is no such rule.")
	}
	return r, err == nil, err
}

// readAPIRule reads and checks the rule in a request body; ok false means answered.
func (a *API) readAPIRule(c echo.Context) (model.RuleDef, bool, error) {
	body, ok, err := a.readBody(c)
	if !ok {
		return model.RuleDef{}, false, err
	}
	r, err := parseOneRule(body)
	var def model.RuleDef
	if err == nil {
		def, err = scoring.Def(r)
	}
	if err != nil {
		return def, false, ruleProblems(c, err)
	}
	return def, true, nil
}

func (a *API) author(c echo.Context) int64 {
	if by := TokenOf(c).CreatedBy; by != nil {
		return *by
	}
	return 0
}

// CreateRule is POST /api/v1/rules: a new rule (the export's JSON), validated as the builder
// does; every lead is re-scored in the background.
func (a *API) CreateRule(c echo.Context) error {
	def, ok, err := a.readAPIRule(c)
	if !ok {
		return err
	}
	saved, err := a.Handlers.Store.SaveRule(c.Request().Context(), TokenOf(c).WorkspaceID, a.author(c), 0, def)
	if err != nil {
		return err
	}
	a.Pipeline.RulesChanged()
	c.Response().Header().Set("Location", "/api/v1/rules/"+strconv.FormatInt(saved.ID, 10))
	return c.JSON(http.StatusCreated, apiRule(saved))
}

// ReplaceRule is PUT /api/v1/rules/{id}: a new version of the rule. With If-Match, a rule
// changed since that version is not overwritten (409).
func (a *API) ReplaceRule(c echo.Context) error {
	current, ok, err := a.storedRule(c)
	if !ok {
		return err
	}
	if m := strings.Trim(c.Request().Header.Get("If-Match"), `" `); m != "" && m != "*" && m != strconv.Itoa(current.Version) {
		return problem(c, http.StatusConflict, "The rule changed since version "+m+" (it is at version "+strconv.Itoa(current.Version)+"); read it again and reapply your change.")
	}
	def, ok, err := a.readAPIRule(c)
	if !ok {
		return err
	}
	saved, err := a.Handlers.Store.SaveRule(c.Request().Context(), TokenOf(c).WorkspaceID, a.author(c), current.ID, def)
	if errors.Is(err, store.ErrNotFound) {
		return problem(c, http.StatusNotFound, "There is no such rule.")
	}
	if err != nil {
		return err
	}
	a.Pipeline.RulesChanged()
	return c.JSON(http.StatusOK, apiRule(saved))
}

// DeleteRule is DELETE /api/v1/rules/{id}; its points are taken back by the re-score.
func (a *API) DeleteRule(c echo.Context) error {
	r, ok, err := a.storedRule(c)
	if !ok {
		return err
	}
	if err := a.Handlers.Store.DeleteRule(c.Request().Context(), TokenOf(c).WorkspaceID, r.ID); err != nil {
		return err
	}
	a.Pipeline.RulesChanged()
	return c.NoContent(http.StatusNoContent)
}

// PreviewRule is POST /api/v1/rules/preview[?id=]: what saving the rule would change, as the
// builder's preview says.
func (a *API) PreviewRule(c echo.Context) error {
	body, ok, err := a.readBody(c)
	if !ok {
		return err
	}
	r, err := parseOneRule(body)
	if err == nil {
		_, err = r.Check()
	}
	if err != nil {
		return ruleProblems(c, err)
	}
	ruleID, _ := strconv.ParseInt(c.QueryParam("id"), 10, 64)
	p, err := a.Pipeline.Scoring.Preview(c.Request().Context(), TokenOf(c).WorkspaceID, ruleID, r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, p)
}
