// Parses and semantically analyses KQL queries with Microsoft's Kusto.Language, the analyser of
// Kusto Explorer and of Azure-Sentinel's query validation, shipped for JavaScript as the npm
// package @kusto/language-service-next (a Bridge.NET build of the C# library).
//
// stdin:  {"tables": {"<table>": {"<column>": "<kusto type>"}}, "queries": [{"id", "text"}]}
// stdout: {"version": "<package version>",
//          "results": [{"id", "diagnostics": [{"severity", "code", "message", "start", "length"}]}]}
// `start` and `length` count UTF-16 code units of the query text, as Kusto.Language does.
// Exit 3: the package is not installed; exit 2: the input is not what this script reads.
"use strict";

const PACKAGE = "@kusto/language-service-next";

function fail(code, message) {
  process.stderr.write(message + "\n");
  process.exit(code);
}

let version;
try {
  // bridge.min.js is the Bridge.NET runtime; the library defines the global `Kusto` on it.
  require(`${PACKAGE}/bridge.min.js`);
  require(`${PACKAGE}/Kusto.Language.Bridge.min.js`);
  version = require(`${PACKAGE}/package.json`).version;
} catch (error) {
  fail(3, `${PACKAGE} is not installed (${error.code || error.message})`);
}

const Symbols = Kusto.Language.Symbols;

// One database holding every table: the queries name tables unqualified, as in advanced hunting.
function globalState(tables) {
  const members = Object.entries(tables).map(([table, columns]) => {
    const symbols = Object.entries(columns).map(([column, type]) => {
      const scalar = Symbols.ScalarTypes.GetSymbol(type);
      if (scalar === null) {
        fail(2, `table ${table}, column ${column}: ${type} is not a Kusto scalar type`);
      }
      return new Symbols.ColumnSymbol(column, scalar, null, null, null, null);
    });
    return new Symbols.TableSymbol.$ctor4(table, symbols);
  });
  const database = new Symbols.DatabaseSymbol.ctor("certdetect", members);
  return Kusto.Language.GlobalState.Default.WithDatabase(database);
}

function diagnose(text, globals) {
  // ParseAndAnalyze binds every name to the database: unknown tables, columns and functions,
  // operators applied to the wrong types and syntax errors all come back as diagnostics.
  const code = Kusto.Language.KustoCode.ParseAndAnalyze(text, globals);
  const found = code.GetDiagnostics();
  const diagnostics = [];
  for (let index = 0; index < found.Count; index++) {
    const item = found.getItem(index);
    diagnostics.push({
      severity: item.Severity,
      code: item.Code,
      message: item.Message,
      start: item.Start,
      length: item.Length,
    });
  }
  return diagnostics;
}

let input = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  let request;
  try {
    request = JSON.parse(input);
  } catch (error) {
    fail(2, `stdin is not JSON: ${error.message}`);
  }
  if (!request || typeof request.tables !== "object" || !Array.isArray(request.queries)) {
    fail(2, "stdin needs {tables: {...}, queries: [...]}");
  }
  const globals = globalState(request.tables);
  const results = request.queries.map((query) => ({
    id: query.id,
    diagnostics: diagnose(query.text, globals),
  }));
  process.stdout.write(JSON.stringify({ version, results }) + "\n");
});
