from django.shortcuts import render


def landing(request):
    return render(request, "core/landing.html")


def organization_home(request):
    return render(request, "core/organization_home.html", {"organization": request.tenant})
