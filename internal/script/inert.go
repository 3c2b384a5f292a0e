package script

import (
	"github.com/dop251/goja/ast"
	"github.com/dop251/goja/token"
)

// A top-level var initializer must be inert: it runs no script code and makes nothing the deep
// freeze cannot reach. Code run at the top level made state that outlived the request: the
// scope of a closure an IIFE returned, a Map's entries, a class's private fields. A pooled
// runtime carried one request's data into the next, and grew the shared heap request after
// request past every invocation's memory budget (TestRedTeamNoStateThroughAClosureOrAMap,
// TestRedTeamRetainedStateGrowsTheHeap). Inert: literals, template text, functions (made, not
// called), identifiers, object and array literals of inert values (no spread, no computed key:
// both run code), and operators over primitive literals only (an object operand runs its
// valueOf or toString).
func inert(e ast.Expression) bool {
	switch e := e.(type) {
	case nil, *ast.FunctionLiteral, *ast.ArrowFunctionLiteral, *ast.Identifier, *ast.RegExpLiteral:
		return true
	case *ast.ArrayLiteral:
		for _, v := range e.Value {
			if _, spread := v.(*ast.SpreadElement); spread || !inert(v) {
				return false
			}
		}
		return true
	case *ast.ObjectLiteral:
		for _, p := range e.Value {
			switch p := p.(type) {
			case *ast.PropertyKeyed:
				if p.Computed && !primitive(p.Key) || !inert(p.Value) {
					return false
				}
			case *ast.PropertyShort:
				if p.Initializer != nil {
					return false
				}
			default: // a spread
				return false
			}
		}
		return true
	}
	return primitive(e)
}

// primitive reports whether e is a primitive literal, or operators over them: evaluating it
// calls nothing.
func primitive(e ast.Expression) bool {
	switch e := e.(type) {
	case *ast.StringLiteral, *ast.NumberLiteral, *ast.BooleanLiteral, *ast.NullLiteral:
		return true
	case *ast.TemplateLiteral:
		return e.Tag == nil && len(e.Expressions) == 0
	case *ast.UnaryExpression:
		switch e.Operator {
		case token.MINUS, token.PLUS, token.NOT, token.BITWISE_NOT, token.TYPEOF, token.VOID:
			return primitive(e.Operand)
		}
	case *ast.BinaryExpression:
		return e.Operator != token.INSTANCEOF && e.Operator != token.IN && primitive(e.Left) && primitive(e.Right)
	case *ast.ConditionalExpression:
		return primitive(e.Test) && primitive(e.Consequent) && primitive(e.Alternate)
	}
	return false
}
