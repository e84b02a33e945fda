Attribute VB_Name = "XlPlanRibbon"
Option Explicit

' Ribbon callbacks for the "Action Plan" tab (customUI/customUI14.xml).
' All the logic is in Python: each button's tag names an action that
' xl_plan.excel.ribbon.dispatch runs through xlwings' RunPython.
' Keep this module minimal. It is generated into the workbook from
' macros/XlPlanRibbon.bas by "python -m xl_plan.template build".

Private XlPlanRibbonUI As IRibbonUI

' onLoad: keep the ribbon object so a later version can refresh it.
Public Sub XlPlanRibbonLoad(ribbon As IRibbonUI)
    Set XlPlanRibbonUI = ribbon
End Sub

' onAction of every button: run the Python action named by the tag.
Public Sub XlPlanButton(control As IRibbonControl)
    RunPython "import xl_plan.excel.ribbon as r; r.dispatch('" & control.Tag & "')"
End Sub
